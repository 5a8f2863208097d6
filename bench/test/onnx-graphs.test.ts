import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OnnxGraphBuilder, type WeightMap } from '../src/onnx-graph-builder.ts';
import { buildResNet18Onnx, type ResNet18Config } from '../src/onnx-resnet18.ts';
import { buildVitOnnx, type VitConfig } from '../src/onnx-vit.ts';
import { createOrtCpuSession } from '../src/ort-node-cpu.ts';
import { createOrtWasmSession, runOrt } from '../src/ort-webgpu.ts';
import { randomImageBatch, resnet18RandomWeights, vitRandomWeights } from '../src/random-weights.ts';

// The encoder and both graph builders are checked on ORT's wasm CPU EP, which needs no GPU,
// and on the CPU peer of pnpm bench (onnxruntime-node).

describe('onnx-proto encoder', () => {
  it('round-trips a hand-built graph through ORT with a symbolic batch', async () => {
    const g = new OnnxGraphBuilder('tiny');
    const x = g.input('input', ['batch', 2]);
    // Gemm with transB and a float attribute: y = 2 x W^T + b, W [3, 2].
    const gemm = g.node(
      'Gemm',
      [
        x,
        g.floatInitializer('w', [3, 2], new Float32Array([1, 0, 0, 1, 1, 1])),
        g.floatInitializer('b', [3], new Float32Array([0.5, -1, 0])),
      ],
      'gemm',
      { transB: 1, alpha: { float: 2 } },
    );
    // Negative int64 initializers (Reshape's -1) and negative int attributes (axis -1).
    const column = g.node('Reshape', [gemm, g.int64Constant([0, -1, 1])], 'column');
    const flat = g.node('Reshape', [column, g.int64Constant([0, -1])], 'flat');
    g.node('Softmax', [flat], 'probs', { axis: -1 });
    g.nameLastOutput('logits');
    g.output('logits', ['batch', 3]);
    const session = await createOrtWasmSession(g.encode());

    const softmax = (v: number[]) => v.map((a) => Math.exp(a) / v.reduce((s, b) => s + Math.exp(b), 0));
    // Rows [1, 2] and [3, 4]: 2 * [x0, x1, x0 + x1] + [0.5, -1, 0].
    const expected = [...softmax([2.5, 3, 6]), ...softmax([6.5, 7, 14])];
    const one = await runOrt(session, new Float32Array([1, 2]), [1, 2]);
    const two = await runOrt(session, new Float32Array([1, 2, 3, 4]), [2, 2]);
    await session.release();
    expected.slice(0, 3).forEach((p, i) => expect(one[i]).toBeCloseTo(p, 6));
    expected.forEach((p, i) => expect(two[i]).toBeCloseTo(p, 6));
  });
});

const TINY_VIT: VitConfig = {
  imageSize: 32,
  patchSize: 16,
  inChannels: 3,
  embedDim: 8,
  depth: 2,
  numHeads: 2,
  mlpDim: 16,
  numClasses: 5,
  layerNormEps: 1e-6,
};

const TINY_RESNET: ResNet18Config = {
  imageSize: 32,
  inChannels: 3,
  stemChannels: 4,
  stages: [
    { name: 'layer1', channels: 4, stride: 1, blocks: 1 },
    { name: 'layer2', channels: 8, stride: 2, blocks: 2 },
  ],
  numClasses: 5,
  batchNormEps: 1e-5,
};

const BATCH = 2;

/**
 * PyTorch logits (float64, timm/torchvision semantics, BatchNorm in eval mode) for the
 * seed-1 weights and seed-7 input below. Regenerate: PEER_GOLDEN_DUMP=/tmp/peer-golden
 * pnpm --filter @moxi/bench test, then /usr/bin/python3 bench/scripts/onnx-graph-goldens.py
 * /tmp/peer-golden.
 */
const GOLDEN_LOGITS: Record<'vit' | 'resnet', number[]> = {
  vit: [0.823753, -1.935314, 0.659752, -0.235062, 0.120454, -0.241561, -1.184475, 0.945419, 1.012885, 0.115327],
  resnet: [-0.339466, -1.343903, -1.06124, -0.104194, -0.01037, -0.272973, -1.359587, -1.068992, -0.090765, -0.013261],
};

/** Writes weights, input and the model config (as metadata) for the golden script. */
function dumpSafetensors(path: string, tensors: WeightMap, config: object): void {
  const header: Record<string, unknown> = { __metadata__: { config: JSON.stringify(config) } };
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    offset += t.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, ...parts]));
}

describe.each([
  {
    name: 'vit' as const,
    config: TINY_VIT,
    weights: () => vitRandomWeights(TINY_VIT, 1),
    build: (w: WeightMap) => buildVitOnnx(w, TINY_VIT),
    imageSize: TINY_VIT.imageSize,
  },
  {
    name: 'resnet' as const,
    config: TINY_RESNET,
    weights: () => resnet18RandomWeights(TINY_RESNET, 1),
    build: (w: WeightMap) => buildResNet18Onnx(w, TINY_RESNET),
    imageSize: TINY_RESNET.imageSize,
  },
])('$name ONNX graph', ({ name, config, weights, build, imageSize }) => {
  it('matches the PyTorch golden on the wasm EP', async () => {
    const w = weights();
    const shape = [BATCH, 3, imageSize, imageSize] as const;
    const input = randomImageBatch(shape, 7);
    const dumpDir = process.env.PEER_GOLDEN_DUMP;
    if (dumpDir) {
      dumpSafetensors(`${dumpDir}/${name}.safetensors`, new Map([...w, ['__input', { shape: [...shape], data: input }]]), config);
    }
    const session = await createOrtWasmSession(build(w));
    const logits = await runOrt(session, input, shape);
    await session.release();
    expect(logits.length).toBe(BATCH * 5);
    const golden = GOLDEN_LOGITS[name];
    for (let i = 0; i < logits.length; i++) expect(logits[i]).toBeCloseTo(golden[i] as number, 4);
  });

  it('gives the same logits on the CPU peer (onnxruntime-node), the golden within 5e-5', async () => {
    const w = weights();
    const shape = [BATCH, 3, imageSize, imageSize] as const;
    const input = randomImageBatch(shape, 7);
    const cpu = await createOrtCpuSession(build(w));
    const logits = await cpu.run(input, shape);
    await cpu.release();
    expect(logits.length).toBe(BATCH * 5);
    // Native float32 kernels sum in another order than wasm: held to the wasm test's bound (4 decimals).
    const golden = GOLDEN_LOGITS[name];
    for (let i = 0; i < logits.length; i++) expect(Math.abs(logits[i]! - (golden[i] as number))).toBeLessThan(5e-5);
  });
});
