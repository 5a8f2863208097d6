/**
 * moxi's forward pass against ONNX Runtime Web's WebGPU backend (same weights, same
 * input, same Dawn adapter) and against onnxruntime-node's CPU backend on the same cores,
 * in one process. Every side is timed as a user calls it (input on the CPU, logits read
 * back), after one warm-up each, alternating A B C A B C so drift in a shared machine's
 * speed hits all alike. Reports images/s, GFLOP/s, the ratios moxi / peer, and how far
 * apart the engines' logits are.
 *
 *   node bench/dist/vs-onnxruntime.mjs [--model vit-tiny|resnet18] [--batch 8] [--iterations 3] [--json]
 */
import { parseArgs } from 'node:util';
import {
  acquireDevice,
  GpuEngine,
  ResNet,
  resnetConfigFromTimm,
  resnetWeights,
  TIMM_RESNET_NAMES,
  VisionTransformer,
  vitConfigFromTimm,
  vitWeightsFromTimm,
  type HostTensor,
  type ImageClassifier,
  type TensorSource,
} from '@moxi/kernels';
import { deterministicResnetWeights, deterministicTensor, deterministicVitWeights } from '@moxi/kernels/testing';
import { describeAdapter } from './dawn-gpu.ts';
import { buildResNet18Onnx, RESNET18 } from './onnx-resnet18.ts';
import { buildVitOnnx, VIT_TINY_PATCH16_224 } from './onnx-vit.ts';
import { createOrtCpuSession, ortNodeVersion } from './ort-node-cpu.ts';
import { createOrtWebgpuSession, maxAbsDiff, ortWebVersion, runOrt } from './ort-webgpu.ts';

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await work();
  return { ms: performance.now() - t0, value };
}

interface Contender {
  title: string;
  weights: Map<string, HostTensor>;
  moxi: (engine: GpuEngine, source: TensorSource) => ImageClassifier;
  onnx: (weights: Map<string, HostTensor>, batch: number) => Uint8Array;
}

/** Both engines get one set of weights with timm names. */
const MODELS: Record<string, () => Contender> = {
  'vit-tiny': () => ({
    title: 'ViT-Tiny/16-224 (vit_tiny_patch16_224)',
    weights: deterministicVitWeights({ imgSize: 224, patchSize: 16, inChans: 3, embedDim: 192, depth: 12, numHeads: 3, mlpRatio: 4, numClasses: 1000, qkvBias: true }, 1),
    moxi: (engine, source) => {
      const config = vitConfigFromTimm({ architecture: 'vit_tiny_patch16_224' }, 'vit_tiny_patch16_224');
      return new VisionTransformer(engine, config, vitWeightsFromTimm(config, source));
    },
    onnx: (weights, batch) => buildVitOnnx(weights, VIT_TINY_PATCH16_224, { batch }),
  }),
  resnet18: () => ({
    title: 'ResNet-18 at 224 (resnet18)',
    weights: deterministicResnetWeights({ block: 'basic', depths: [2, 2, 2, 2], numClasses: 1000 }, 1),
    moxi: (engine, source) => {
      const config = resnetConfigFromTimm({ architecture: 'resnet18' }, 'resnet18');
      return new ResNet(engine, config, resnetWeights(config, source, TIMM_RESNET_NAMES));
    },
    onnx: (weights, batch) => buildResNet18Onnx(weights, RESNET18, { batch }),
  }),
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'vit-tiny' },
      batch: { type: 'string', default: '8' },
      iterations: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  const pick = MODELS[values.model];
  if (!pick) throw new Error(`--model ${values.model}: choose one of ${Object.keys(MODELS).join(', ')}`);
  const contender = pick();
  const batch = Number(values.batch);
  const iterations = Number(values.iterations);
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(iterations) || iterations < 1) {
    throw new Error('--batch and --iterations take positive integers');
  }

  const weights = contender.weights;
  const shape = [batch, 3, 224, 224] as const;
  const input = deterministicTensor('bench-input', shape, 11, 1.5);

  const gpu = await acquireDevice();
  const engine = new GpuEngine(gpu);
  const source: TensorSource = { file: 'generated', shapes: new Map([...weights].map(([k, v]) => [k, v.shape])), read: (n) => Float32Array.from(weights.get(n)!.data) };
  const moxi = contender.moxi(engine, source);
  const onnx = contender.onnx(weights, batch);
  const peer = await createOrtWebgpuSession(onnx);
  const cpu = await createOrtCpuSession(onnx);
  log(`moxi on "${gpu.adapter.description || gpu.adapter.device}", onnxruntime-web ${ortWebVersion} on "${describeAdapter(peer.adapter).description}", onnxruntime-node ${ortNodeVersion} on ${cpu.threads} CPU threads`);

  const runMoxi = async () => (await moxi.forward(input)).logits;
  const runPeer = () => runOrt(peer, input.data, shape);
  const runCpu = () => cpu.run(input.data, shape);
  const warm = { moxi: (await timed(runMoxi)).ms, peer: (await timed(runPeer)).ms, cpu: (await timed(runCpu)).ms };
  log(`warm-up: moxi ${warm.moxi.toFixed(0)} ms, webgpu peer ${warm.peer.toFixed(0)} ms, cpu peer ${warm.cpu.toFixed(0)} ms`);
  const ms = { moxi: [] as number[], peer: [] as number[], cpu: [] as number[] };
  let logits: Record<'moxi' | 'peer' | 'cpu', Float32Array<ArrayBufferLike>> = { moxi: new Float32Array(0), peer: new Float32Array(0), cpu: new Float32Array(0) };
  for (let i = 0; i < iterations; i++) {
    const a = await timed(runMoxi);
    const b = await timed(runPeer);
    const c = await timed(runCpu);
    ms.moxi.push(a.ms);
    ms.peer.push(b.ms);
    ms.cpu.push(c.ms);
    logits = { moxi: a.value, peer: b.value, cpu: c.value };
    log(`iteration ${i + 1}/${iterations}: moxi ${a.ms.toFixed(0)} ms, webgpu peer ${b.ms.toFixed(0)} ms, cpu peer ${c.ms.toFixed(0)} ms`);
  }
  const gflop = moxi.flopsPerImage() / 1e9;
  const side = (list: number[]) => {
    const m = median(list);
    return { imagesPerSecond: (batch * 1000) / m, gflopsPerSecond: (gflop * batch * 1000) / m, msPerBatch: m, iterationMs: list };
  };
  const report = {
    model: contender.title,
    batch,
    gflopsPerImage: gflop,
    adapter: gpu.adapter,
    moxi: side(ms.moxi),
    peer: { name: `onnxruntime-web ${ortWebVersion} (webgpu)`, ...side(ms.peer) },
    speedup: median(ms.peer) / median(ms.moxi),
    maxAbsLogitDiff: maxAbsDiff(logits.moxi, logits.peer),
    cpuPeer: { name: `onnxruntime-node ${ortNodeVersion} (cpu, ${cpu.threads} threads)`, ...side(ms.cpu) },
    speedupVsCpu: median(ms.cpu) / median(ms.moxi),
    maxAbsLogitDiffVsCpu: maxAbsDiff(logits.moxi, logits.cpu),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    process.stdout.write(
      `${report.model}, batch ${batch}, ${report.adapter.description || report.adapter.device}\n` +
        `  moxi                 ${report.moxi.imagesPerSecond.toFixed(2)} images/s  ${report.moxi.gflopsPerSecond.toFixed(2)} GFLOP/s\n` +
        `  ${report.peer.name.padEnd(20)} ${report.peer.imagesPerSecond.toFixed(2)} images/s  ${report.peer.gflopsPerSecond.toFixed(2)} GFLOP/s\n` +
        `  speed-up ${report.speedup.toFixed(2)}x, max |logit difference| ${report.maxAbsLogitDiff.toExponential(2)}\n` +
        `  ${report.cpuPeer.name.padEnd(20)} ${report.cpuPeer.imagesPerSecond.toFixed(2)} images/s  ${report.cpuPeer.gflopsPerSecond.toFixed(2)} GFLOP/s\n` +
        `  vs the CPU peer ${report.speedupVsCpu.toFixed(2)}x, max |logit difference| ${report.maxAbsLogitDiffVsCpu.toExponential(2)}\n`,
    );
  }
  moxi.destroy();
  engine.destroy();
  gpu.destroy();
  await peer.session.release();
  await cpu.release();
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(1);
  },
);
