import { describe, expect, it } from 'vitest';
import type { GpuEngine } from '../../src/gpu/engine.ts';
import type { GpuTensor } from '../../src/gpu/gpu-tensor.ts';
import { activationBackward } from '../../src/ops/activation.ts';
import { attention, attentionBackward } from '../../src/ops/attention.ts';
import { conv2dBackward, maxPool2dBackward, nhwcToNchw } from '../../src/ops/conv2d.ts';
import { layerNormBackward } from '../../src/ops/layernorm.ts';
import { linearBackward } from '../../src/ops/matmul.ts';
import { averageBackward, patchCol2im, patchIm2col, PAD_ROW, scatterRows } from '../../src/ops/tokens.ts';
import { attentionRef, conv2dRef, gelu, layerNormRef, matmulRef, maxPool2dRef, nchwToNhwc, type Floats } from '../../src/reference/ops.ts';
import { deterministicTensor } from '../../src/testing/index.ts';
import { maxAbs, testEngine } from '../helpers/gpu.ts';

// Every backward kernel against central finite differences of the float64 reference
// forward: for L(x) = sum(g * f(x)) with a random upstream gradient g, the kernel's dx
// must equal (L(x + h e_i) - L(x - h e_i)) / 2h for every coordinate i. Tolerance:
// 1e-4 of the gradient's largest magnitude (float32 kernels; the float64 differences
// with h = 1e-4 are exact to ~1e-8).

const H_STEP = 1e-4;
const rand = (name: string, shape: number[], scale = 1) => deterministicTensor(name, shape, 8, scale).data;

function finiteDifference(x: Float32Array, loss: (x: Float64Array) => number): Float64Array {
  const base = Float64Array.from(x);
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = base[i]!;
    base[i] = v + H_STEP;
    const up = loss(base);
    base[i] = v - H_STEP;
    const down = loss(base);
    base[i] = v;
    grad[i] = (up - down) / (2 * H_STEP);
  }
  return grad;
}

function dot(g: Floats, f: Floats): number {
  let s = 0;
  for (let i = 0; i < f.length; i++) s += f[i]! * g[i]!;
  return s;
}

function expectGradient(gpu: Float32Array, fd: Float64Array): void {
  const scale = maxAbs(fd);
  expect(scale).toBeGreaterThan(1e-3);
  let worst = 0;
  for (let i = 0; i < fd.length; i++) worst = Math.max(worst, Math.abs(gpu[i]! - fd[i]!));
  expect(worst / scale).toBeLessThan(1e-4);
}

async function readAndRelease(e: GpuEngine, t: GpuTensor, ...others: Array<GpuTensor | undefined>): Promise<Float32Array> {
  const out = await e.read(t);
  e.release(t, ...others);
  return out;
}

describe('backward kernels match finite differences', () => {
  it('linear: dx = dy W^T', async () => {
    const e = await testEngine();
    const [M, K, N] = [5, 7, 6];
    const x = rand('x', [M, K]);
    const w = rand('w', [K, N]);
    const g = rand('g', [M, N]);
    const layer = { weight: e.upload(w, [K, N]), inFeatures: K, outFeatures: N };
    const tg = e.upload(g, [M, N]);
    const dx = await readAndRelease(e, linearBackward(e, tg, layer), tg, layer.weight);
    expectGradient(dx, finiteDifference(x, (v) => dot(g, matmulRef(v, Float64Array.from(w), M, K, N))));
  });

  it('layernorm (eps 1e-5), with the residual gradient added', async () => {
    const e = await testEngine();
    const [R, D] = [4, 9];
    const x = rand('x', [R, D], 2);
    const weight = rand('w', [D], 0.5).map((v) => v + 1);
    const bias = rand('b', [D]);
    const g = rand('g', [R, D]);
    const res = rand('res', [R, D]);
    const [tx, tw, tg, tr] = [e.upload(x, [R, D]), e.upload(weight, [D]), e.upload(g, [R, D]), e.upload(res, [R, D])];
    const dx = await readAndRelease(e, layerNormBackward(e, tx, { weight: tw, bias: tw, eps: 1e-5 }, tg, tr), tx, tw, tg, tr);
    const fd = finiteDifference(x, (v) => dot(g, layerNormRef(v, D, weight, bias, 1e-5)));
    expectGradient(dx.map((v, i) => v - res[i]!), fd);
  });

  it.each([
    { label: 'all queries, masked keys', queries: 5, masked: true },
    { label: 'first 2 queries (the trimmed last block)', queries: 2, masked: false },
  ])('attention, $label: dqkv through softmax and the four GEMMs', async ({ queries, masked }) => {
    const e = await testEngine();
    const [B, T, H, Dh] = [2, 5, 2, 3];
    const D = H * Dh;
    const qkv = rand('qkv', [B, T, 3 * D], 1.2);
    const g = rand('g', [B, queries, D]);
    const keep = Uint32Array.from({ length: B * T }, (_, i) => (i % T === 0 || i % 3 !== 1 ? 1 : 0));
    const tq = e.upload(qkv, [B, T, 3 * D]);
    const tk = masked ? e.upload(keep, [B, T]) : undefined;
    const fwd = attention(e, tq, { heads: H, queries, withProbabilities: true, ...(tk ? { keyKeep: tk } : {}) });
    const tg = e.upload(g, [B, queries, D]);
    const dqkv = await readAndRelease(e, attentionBackward(e, tq, fwd.probabilities!, tg, H), tq, tk, fwd.out, fwd.probabilities, tg);
    const fd = finiteDifference(qkv, (v) => {
      let total = 0;
      for (let b = 0; b < B; b++) {
        const seq = v.subarray(b * T * 3 * D, (b + 1) * T * 3 * D);
        const { out } = attentionRef(seq, T, H, Dh, masked ? (j) => keep[b * T + j] === 1 : undefined);
        total += dot(g.subarray(b * queries * D, (b + 1) * queries * D), out.subarray(0, queries * D));
      }
      return total;
    });
    expectGradient(dqkv, fd);
  });

  it.each(['gelu', 'relu'] as const)('%s', async (kind) => {
    const e = await testEngine();
    // Keep ReLU's inputs away from its kink, where finite differences are meaningless.
    const x = rand('x', [40], 3).map((v) => (kind === 'relu' && Math.abs(v) < 0.05 ? v + 0.1 : v));
    const g = rand('g', [40]);
    const f = (v: number) => (kind === 'gelu' ? gelu(v) : Math.max(0, v));
    const stored = kind === 'gelu' ? x : x.map(f);
    const [tv, tg] = [e.upload(stored, [40]), e.upload(g, [40])];
    const dx = await readAndRelease(e, activationBackward(e, tv, tg, kind), tv, tg);
    expectGradient(dx, finiteDifference(x, (v) => dot(g, v.map(f))));
  });

  it.each([
    { K: 3, stride: 2, pad: 1, C: 5, OC: 8 },
    { K: 7, stride: 2, pad: 3, C: 3, OC: 4 },
    { K: 1, stride: 2, pad: 0, C: 6, OC: 12 },
    { K: 3, stride: 1, pad: 1, C: 4, OC: 8 },
  ])('conv2d K$K stride $stride: dx by the transposed convolution', async ({ K, stride, pad, C, OC }) => {
    const e = await testEngine();
    const [B, H, W] = [2, 7, 6];
    const x = rand('x', [B, C, H, W]);
    const w = rand('w', [OC, C, K, K], 1 / Math.sqrt(C * K * K));
    const { shape } = conv2dRef(x, [B, C, H, W], w, OC, K, stride, pad);
    const g = rand('g', [B, shape[2], shape[3], OC]);
    const wk = new Float32Array(K * K * C * OC);
    for (let o = 0; o < OC; o++) for (let c = 0; c < C; c++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) wk[((ky * K + kx) * C + c) * OC + o] = w[((o * C + c) * K + ky) * K + kx]!;
    const weights = { weight: e.upload(wk, [wk.length]), bias: e.upload(new Float32Array(OC), [OC]), inChannels: C, outChannels: OC, kernel: K, stride, padding: pad };
    const tg = e.upload(g, [B, shape[2], shape[3], OC]);
    const dxNhwc = conv2dBackward(e, tg, weights, [B, H, W, C]);
    const dx = await readAndRelease(e, nhwcToNchw(e, dxNhwc), dxNhwc, tg, weights.weight, weights.bias);
    const fd = finiteDifference(x, (v) => dot(g, nchwToNhwc(conv2dRef(v, [B, C, H, W], w, OC, K, stride, pad).out, shape)));
    expectGradient(dx, fd);
  });

  it('max-pool 3x3 stride 2 pad 1 routes to each window maximum', async () => {
    const e = await testEngine();
    const [B, C, H, W] = [1, 3, 7, 8];
    // Distinct values, so no window has a tie that finite differences would split.
    const x = Float32Array.from({ length: B * C * H * W }, (_, i) => ((i * 7919) % 613) / 97 - 3);
    const out = maxPool2dRef(x, [B, C, H, W], 3, 2, 1);
    const [OH, OW] = [4, 4];
    const g = rand('g', [B, OH, OW, C]);
    const [tx, tg] = [e.upload(nchwToNhwc(x, [B, C, H, W]), [B, H, W, C]), e.upload(g, [B, OH, OW, C])];
    const dxNhwc = maxPool2dBackward(e, tx, tg, 3, 2, 1);
    const dx = await readAndRelease(e, nhwcToNchw(e, dxNhwc), dxNhwc, tx, tg);
    expect(out.length).toBe(B * C * OH * OW);
    expectGradient(dx, finiteDifference(x, (v) => dot(g, nchwToNhwc(maxPool2dRef(v, [B, C, H, W], 3, 2, 1), [B, C, OH, OW]))));
  });

  it('average pooling, all positions and flagged tokens', async () => {
    const e = await testEngine();
    const [R, T, D] = [2, 5, 3];
    const x = rand('x', [R, T, D]);
    const g = rand('g', [R, D]);
    const keep = Uint32Array.from([1, 0, 1, 1, 0, 0, 1, 1, 1, 1]);
    for (const flags of [undefined, keep]) {
      const tg = e.upload(g, [R, D]);
      const tk = flags && e.upload(flags, [R, T]);
      const dx = await readAndRelease(e, averageBackward(e, tg, T, tk), tg, tk);
      const fd = finiteDifference(x, (v) => {
        let total = 0;
        for (let r = 0; r < R; r++) {
          const kept = [...Array(T).keys()].filter((t) => !flags || flags[r * T + t]);
          for (let d = 0; d < D; d++) total += (g[r * D + d]! * kept.reduce((s, t) => s + v[(r * T + t) * D + d]!, 0)) / kept.length;
        }
        return total;
      });
      expectGradient(dx, fd);
    }
  });

  it('token gather: scatter-add back to the source rows (padding dropped)', async () => {
    const e = await testEngine();
    const D = 4;
    const src = rand('src', [5, D]);
    const index = Uint32Array.from([3, 0, PAD_ROW, 3, 4, 0, 1]);
    const g = rand('g', [index.length, D]);
    const tg = e.upload(g, [index.length, D]);
    const dx = await readAndRelease(e, scatterRows(e, tg, index, 5, D), tg);
    const fd = finiteDifference(src, (v) => {
      let total = 0;
      index.forEach((s, r) => {
        if (s !== PAD_ROW) for (let d = 0; d < D; d++) total += g[r * D + d]! * v[s * D + d]!;
      });
      return total;
    });
    expectGradient(dx, fd);
  });

  it('patch unfold: col2im is its adjoint, <im2col(x), y> = <x, col2im(y)> (1e-5)', async () => {
    const e = await testEngine();
    const shape = [2, 3, 8, 12];
    const x = rand('x', shape);
    const tx = e.upload(x, shape);
    const cols = patchIm2col(e, tx, 4);
    const y = rand('y', [...cols.shape]);
    const ty = e.upload(y, cols.shape);
    const back = patchCol2im(e, ty, shape, 4);
    const unfolded = await e.read(cols);
    const folded = await readAndRelease(e, back, tx, cols, ty);
    expect(Math.abs(dot(y, unfolded) - dot(x, folded))).toBeLessThan(1e-5 * maxAbs([dot(y, unfolded)]));
  });
});
