import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { describeAdapter } from './dawn-gpu.ts';
import type { WeightMap } from './onnx-graph-builder.ts';
import { buildResNet18Onnx, RESNET18 } from './onnx-resnet18.ts';
import { buildVitOnnx, VIT_TINY_PATCH16_224 } from './onnx-vit.ts';
import { createOrtWasmSession, createOrtWebgpuSession, maxAbsDiff, ortWebVersion, runOrt, timeOrt } from './ort-webgpu.ts';
import { randomImageBatch, resnet18RandomWeights, vitRandomWeights } from './random-weights.ts';

interface PeerModel {
  imageSize: number;
  weights: () => WeightMap;
  build: (weights: WeightMap, batch: number) => Uint8Array;
}

const MODELS: Record<string, PeerModel> = {
  'vit-tiny': {
    imageSize: VIT_TINY_PATCH16_224.imageSize,
    weights: () => vitRandomWeights(VIT_TINY_PATCH16_224),
    build: (weights, batch) => buildVitOnnx(weights, VIT_TINY_PATCH16_224, { batch }),
  },
  resnet18: {
    imageSize: RESNET18.imageSize,
    weights: () => resnet18RandomWeights(RESNET18),
    build: (weights, batch) => buildResNet18Onnx(weights, RESNET18, { batch }),
  },
};

const USAGE = `usage: node bench/dist/peer.mjs --model ${Object.keys(MODELS).join('|')} [--batch 8] [--iterations 3] [--no-check] [--json]`;

const log = (message: string) => process.stderr.write(`[peer] ${message}\n`);

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${value}"\n${USAGE}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      batch: { type: 'string', default: '8' },
      iterations: { type: 'string', default: '3' },
      'no-check': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const modelName = values.model ?? '';
  const model = MODELS[modelName];
  if (!model) throw new Error(`unknown --model "${modelName}"\n${USAGE}`);
  const batch = positiveInt('batch', values.batch);
  const iterations = positiveInt('iterations', values.iterations);
  const shape = [batch, 3, model.imageSize, model.imageSize] as const;
  // Mesa warns on every device creation without it.
  process.env.XDG_RUNTIME_DIR ??= tmpdir();

  let t = performance.now();
  const modelBytes = model.build(model.weights(), batch);
  log(`${modelName}: ONNX graph ${(modelBytes.length / 2 ** 20).toFixed(1)} MiB built in ${(performance.now() - t).toFixed(0)} ms`);

  t = performance.now();
  const webgpu = await createOrtWebgpuSession(modelBytes);
  const adapter = describeAdapter(webgpu.adapter);
  log(`webgpu session on "${adapter.description || adapter.device}" created in ${(performance.now() - t).toFixed(0)} ms`);

  const input = randomImageBatch(shape);
  const timing = await timeOrt(webgpu, shape, iterations, input);
  log(`webgpu: warm-up ${timing.warmupMs.toFixed(0)} ms, then ${timing.iterationMs.map((ms) => ms.toFixed(0)).join(', ')} ms per batch of ${batch}`);
  await webgpu.session.release();

  let maxAbsDiffVsWasm: number | null = null;
  let wasmMsPerBatch: number | null = null;
  if (!values['no-check']) {
    const wasm = await createOrtWasmSession(modelBytes);
    t = performance.now();
    const reference = await runOrt(wasm, input, shape);
    wasmMsPerBatch = performance.now() - t;
    await wasm.release();
    maxAbsDiffVsWasm = maxAbsDiff(timing.outputs, reference);
    const scale = maxAbsDiff(reference, new Float32Array(reference.length));
    log(`wasm reference: ${wasmMsPerBatch.toFixed(0)} ms; max |webgpu - wasm| = ${maxAbsDiffVsWasm.toExponential(2)} (max |logit| ${scale.toFixed(2)})`);
  }

  const result = {
    peer: 'onnxruntime-web',
    peerVersion: ortWebVersion,
    backend: 'webgpu',
    adapter,
    model: modelName,
    batch,
    iterations,
    imagesPerSecond: timing.imagesPerSecond,
    msPerBatch: timing.msPerBatch,
    warmupMs: timing.warmupMs,
    iterationMs: timing.iterationMs,
    maxAbsDiffVsWasm,
    wasmMsPerBatch,
  };
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
}

main().then(
  // dawn.node keeps the event loop alive while its instance exists.
  () => {
    log('done');
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
