import { describe, expect, it } from 'vitest';
import { conv2d, globalAvgPool, maxPool2d } from '../../src/ops/conv2d.ts';
import { maskPixels } from '../../src/ops/pixel-mask.ts';
import { conv2dRef, maxPool2dRef, nchwToNhwc } from '../../src/reference/ops.ts';
import { deterministicTensor } from '../../src/testing/index.ts';
import { maxAbs, maxAbsDiff, testEngine } from '../helpers/gpu.ts';

// Convolution-family kernels (NHWC) against PyTorch-semantics TS references (NCHW,
// float64 accumulation), compared after converting the reference to NHWC.

const rand = (name: string, shape: number[], scale = 1) => deterministicTensor(name, shape, 6, scale).data;

describe('conv2d', () => {
  it.each([
    { B: 2, C: 3, H: 17, W: 13, OC: 12, K: 7, stride: 2, pad: 3, relu: false, residual: false },
    { B: 1, C: 16, H: 9, W: 9, OC: 24, K: 3, stride: 1, pad: 1, relu: true, residual: true },
    { B: 3, C: 5, H: 10, W: 6, OC: 4, K: 3, stride: 2, pad: 1, relu: true, residual: false },
    { B: 1, C: 7, H: 6, W: 5, OC: 40, K: 3, stride: 1, pad: 1, relu: false, residual: false },
    { B: 2, C: 12, H: 7, W: 7, OC: 20, K: 1, stride: 2, pad: 0, relu: false, residual: true },
  ])('K$K stride $stride pad $pad, $C -> $OC channels, relu $relu, residual $residual (2e-5)', async ({ B, C, H, W, OC, K, stride, pad, relu, residual }) => {
    const e = await testEngine();
    const x = rand('x', [B, C, H, W]);
    const w = rand('w', [OC, C, K, K], 1 / Math.sqrt(C * K * K));
    const bias = rand('bias', [OC], 0.5);
    const ref = conv2dRef(x, [B, C, H, W], w, OC, K, stride, pad, bias);
    const [, , OH, OW] = ref.shape;
    const res = rand('res', [B, OH, OW, OC]);
    let expected = nchwToNhwc(ref.out, ref.shape);
    if (residual) expected = expected.map((v, i) => v + res[i]!);
    if (relu) expected = expected.map((v) => Math.max(v, 0));
    // Kernel layout [K, K, C, OC].
    const wk = new Float32Array(K * K * C * OC);
    for (let o = 0; o < OC; o++) for (let c = 0; c < C; c++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) wk[((ky * K + kx) * C + c) * OC + o] = w[((o * C + c) * K + ky) * K + kx]!;
    const tx = e.upload(nchwToNhwc(x, [B, C, H, W]), [B, H, W, C]);
    const weights = { weight: e.upload(wk, [wk.length]), bias: e.upload(bias, [OC]), inChannels: C, outChannels: OC, kernel: K, stride, padding: pad };
    const tres = residual ? e.upload(res, [B, OH, OW, OC]) : undefined;
    const y = conv2d(e, tx, weights, { relu, ...(tres ? { residual: tres } : {}) });
    expect(y.shape).toEqual([B, OH, OW, OC]);
    const out = await e.read(y);
    e.release(tx, weights.weight, weights.bias, tres, y);
    expect(maxAbs(expected)).toBeGreaterThan(0.5);
    expect(maxAbsDiff(out, expected)).toBeLessThan(2e-5);
  });
});

describe('pooling', () => {
  it('max-pools 3x3 stride 2 pad 1 as PyTorch does (exact)', async () => {
    const e = await testEngine();
    const [B, C, H, W] = [2, 5, 11, 8];
    const x = rand('x', [B, C, H, W]);
    const tx = e.upload(nchwToNhwc(x, [B, C, H, W]), [B, H, W, C]);
    const y = maxPool2d(e, tx, 3, 2, 1);
    const out = await e.read(y);
    e.release(tx, y);
    expect(y.shape).toEqual([B, 6, 4, C]);
    expect(Array.from(out)).toEqual(Array.from(nchwToNhwc(maxPool2dRef(x, [B, C, H, W], 3, 2, 1), [B, C, 6, 4])));
  });

  it('averages every pixel of each channel (1e-6)', async () => {
    const e = await testEngine();
    const [B, H, W, C] = [3, 7, 5, 6];
    const x = rand('x', [B, H, W, C]);
    const tx = e.upload(x, [B, H, W, C]);
    const y = globalAvgPool(e, tx);
    const out = await e.read(y);
    e.release(tx, y);
    const expected = new Float32Array(B * C);
    for (let b = 0; b < B; b++) for (let i = 0; i < H * W; i++) for (let c = 0; c < C; c++) expected[b * C + c]! += x[(b * H * W + i) * C + c]! / (H * W);
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-6);
  });
});

describe('pixel masking', () => {
  it.each(['nhwc', 'nchw'] as const)('zeroes removed cells of each row, %s output (exact)', async (layout) => {
    const e = await testEngine();
    const [N, C, H, W] = [2, 3, 8, 12];
    const grid: [number, number] = [2, 3];
    const images = rand('img', [N, C, H, W]);
    const rowImage = new Uint32Array([1, 0, 1]);
    const keep = new Uint32Array([1, 0, 0, 1, 1, 0, /* */ 0, 0, 0, 0, 0, 0, /* */ 1, 1, 1, 1, 1, 1]);
    const [ti, tr, tk] = [e.upload(images, [N, C, H, W]), e.upload(rowImage, [3]), e.upload(keep, [3, 6])];
    const y = maskPixels(e, ti, { rowImage: tr, keep: tk, grid }, layout);
    const out = await e.read(y);
    e.release(ti, tr, tk, y);
    const expected = new Float32Array(3 * C * H * W);
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < C; c++)
        for (let yy = 0; yy < H; yy++)
          for (let x = 0; x < W; x++) {
            const cell = Math.floor(yy / (H / grid[0])) * grid[1] + Math.floor(x / (W / grid[1]));
            expected[((r * C + c) * H + yy) * W + x] = keep[r * 6 + cell] ? images[((rowImage[r]! * C + c) * H + yy) * W + x]! : 0;
          }
    expect(Array.from(out)).toEqual(Array.from(layout === 'nchw' ? expected : nchwToNhwc(expected, [3, C, H, W])));
  });
});
