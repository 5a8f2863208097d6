/**
 * moxi's ViT forward pass against ONNX Runtime Web's WebGPU backend, same weights, same
 * input, same Dawn adapter, in one process. Both sides are timed as a user calls them
 * (input on the CPU, logits read back), after one warm-up each, alternating A B A B so
 * drift in a shared machine's speed hits both alike. Reports images/s, GFLOP/s, the
 * ratio moxi / peer, and how far apart the two engines' logits are.
 *
 *   node bench/dist/vs-onnxruntime.mjs [--model vit-tiny] [--batch 8] [--iterations 3] [--json]
 */
import { parseArgs } from 'node:util';
import { acquireDevice, GpuEngine, VisionTransformer, vitConfigFromTimm, vitWeightsFromTimm } from '@moxi/kernels';
import { deterministicTensor, deterministicVitWeights } from '@moxi/kernels/testing';
import { describeAdapter } from './dawn-gpu.ts';
import { buildVitOnnx, VIT_TINY_PATCH16_224 } from './onnx-vit.ts';
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'vit-tiny' },
      batch: { type: 'string', default: '8' },
      iterations: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.model !== 'vit-tiny') throw new Error(`--model ${values.model}: only vit-tiny is wired up so far`);
  const batch = Number(values.batch);
  const iterations = Number(values.iterations);
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(iterations) || iterations < 1) {
    throw new Error('--batch and --iterations take positive integers');
  }

  // One set of weights (timm names) feeds both engines.
  const spec = { imgSize: 224, patchSize: 16, inChans: 3, embedDim: 192, depth: 12, numHeads: 3, mlpRatio: 4, numClasses: 1000, qkvBias: true };
  const weights = deterministicVitWeights(spec, 1);
  const shape = [batch, 3, 224, 224] as const;
  const input = deterministicTensor('bench-input', shape, 11, 1.5);

  const gpu = await acquireDevice();
  const engine = new GpuEngine(gpu);
  const config = vitConfigFromTimm({ architecture: 'vit_tiny_patch16_224' }, 'vit_tiny_patch16_224');
  const source = { file: 'generated', shapes: new Map([...weights].map(([k, v]) => [k, v.shape])), read: (n: string) => weights.get(n)!.data };
  const moxi = new VisionTransformer(engine, config, vitWeightsFromTimm(config, source));
  const peer = await createOrtWebgpuSession(buildVitOnnx(weights, VIT_TINY_PATCH16_224, { batch }));
  log(`moxi on "${gpu.adapter.description || gpu.adapter.device}", onnxruntime-web ${ortWebVersion} on "${describeAdapter(peer.adapter).description}"`);

  const runMoxi = async () => (await moxi.forward(input)).logits;
  const runPeer = () => runOrt(peer, input.data, shape);
  const warm = { moxi: (await timed(runMoxi)).ms, peer: (await timed(runPeer)).ms };
  log(`warm-up: moxi ${warm.moxi.toFixed(0)} ms, peer ${warm.peer.toFixed(0)} ms`);
  const ms = { moxi: [] as number[], peer: [] as number[] };
  let logits: { moxi: Float32Array; peer: Float32Array } = { moxi: new Float32Array(0), peer: new Float32Array(0) };
  for (let i = 0; i < iterations; i++) {
    const a = await timed(runMoxi);
    const b = await timed(runPeer);
    ms.moxi.push(a.ms);
    ms.peer.push(b.ms);
    logits = { moxi: a.value, peer: b.value };
    log(`iteration ${i + 1}/${iterations}: moxi ${a.ms.toFixed(0)} ms, peer ${b.ms.toFixed(0)} ms`);
  }
  const gflop = moxi.flopsPerImage() / 1e9;
  const side = (list: number[]) => {
    const m = median(list);
    return { imagesPerSecond: (batch * 1000) / m, gflopsPerSecond: (gflop * batch * 1000) / m, msPerBatch: m, iterationMs: list };
  };
  const report = {
    model: 'vit_tiny_patch16_224',
    batch,
    gflopsPerImage: gflop,
    adapter: gpu.adapter,
    moxi: side(ms.moxi),
    peer: { name: `onnxruntime-web ${ortWebVersion} (webgpu)`, ...side(ms.peer) },
    speedup: median(ms.peer) / median(ms.moxi),
    maxAbsLogitDiff: maxAbsDiff(logits.moxi, logits.peer),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    process.stdout.write(
      `ViT-Tiny/16-224, batch ${batch}, ${report.adapter.description || report.adapter.device}\n` +
        `  moxi                 ${report.moxi.imagesPerSecond.toFixed(2)} images/s  ${report.moxi.gflopsPerSecond.toFixed(2)} GFLOP/s\n` +
        `  ${report.peer.name.padEnd(20)} ${report.peer.imagesPerSecond.toFixed(2)} images/s  ${report.peer.gflopsPerSecond.toFixed(2)} GFLOP/s\n` +
        `  speed-up ${report.speedup.toFixed(2)}x, max |logit difference| ${report.maxAbsLogitDiff.toExponential(2)}\n`,
    );
  }
  moxi.destroy();
  engine.destroy();
  gpu.destroy();
  await peer.session.release();
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(1);
  },
);
