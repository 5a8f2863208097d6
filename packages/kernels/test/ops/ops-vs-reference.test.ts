import { describe, expect, it } from 'vitest';
import type { GpuEngine } from '../../src/gpu/engine.ts';
import type { GpuTensor } from '../../src/gpu/gpu-tensor.ts';
import { attention } from '../../src/ops/attention.ts';
import { layerNorm } from '../../src/ops/layernorm.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { scaleAdd } from '../../src/ops/scale-add.ts';
import { softmax } from '../../src/ops/softmax.ts';
import { embedTokens, gatherRows, meanTokens, PAD_ROW, patchIm2col } from '../../src/ops/tokens.ts';
import { attentionRef, gelu, layerNormRef, matmulRef, softmaxRef } from '../../src/reference/ops.ts';
import { deterministicTensor } from '../../src/testing/index.ts';
import { maxAbs, maxAbsDiff, testEngine } from '../helpers/gpu.ts';

// Each WGSL kernel against the plain TypeScript reference (float64 accumulation), with
// shapes that are not multiples of the kernels' tiles. Tolerances are absolute and sized
// to float32 accumulation error for the given lengths; indexing bugs are O(0.1) or more.

const rand = (name: string, shape: number[], scale = 1) => deterministicTensor(name, shape, 5, scale).data;

async function run(build: (e: GpuEngine) => GpuTensor): Promise<Float32Array> {
  const e = await testEngine();
  const t = build(e);
  const out = await e.read(t);
  e.release(t);
  return out;
}

describe('matmul', () => {
  it.each([
    { M: 1, K: 1, N: 1 },
    { M: 7, K: 13, N: 5 },
    { M: 37, K: 64, N: 43 },
    { M: 197, K: 192, N: 576 },
  ])('$M x $K x $N with bias, GELU and residual (2e-5 at K <= 192)', async ({ M, K, N }) => {
    const a = rand('a', [M, K]);
    const b = rand('b', [K, N], 1 / Math.sqrt(K));
    const bias = rand('bias', [N]);
    const residual = rand('residual', [M, N]);
    const out = await run((e) => {
      const [ta, tb, tbias, tres] = [e.upload(a, [M, K]), e.upload(b, [K, N]), e.upload(bias, [N]), e.upload(residual, [M, N])];
      const y = matmul(e, ta, tb, M, K, N, { bias: tbias, activation: 'gelu', residual: tres });
      e.release(ta, tb, tbias, tres);
      return y;
    });
    const expected = matmulRef(a, b, M, K, N, bias).map((v, i) => gelu(v) + residual[i]!);
    expect(maxAbs(expected)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(out, expected)).toBeLessThan(2e-5);
  });

  it('batches with a broadcast right operand and ReLU (1e-5)', async () => {
    const [B, M, K, N] = [3, 9, 11, 6];
    const a = rand('a', [B, M, K]);
    const b = rand('b', [K, N]);
    const out = await run((e) => {
      const [ta, tb] = [e.upload(a, [B, M, K]), e.upload(b, [K, N])];
      const y = matmul(e, ta, tb, M, K, N, { batch: B, activation: 'relu' });
      e.release(ta, tb);
      return y;
    });
    const expected = new Float32Array(B * M * N);
    for (let z = 0; z < B; z++) expected.set(matmulRef(a.subarray(z * M * K, (z + 1) * M * K), b, M, K, N).map((v) => Math.max(v, 0)), z * M * N);
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-5);
  });
});

describe('layernorm', () => {
  it('normalises every row (1e-5)', async () => {
    const [R, D] = [29, 50];
    const x = rand('x', [R, D], 3).map((v, i) => v + (i % D === 0 ? 100 : 0));
    const w = rand('w', [D]);
    const b = rand('b', [D]);
    const out = await run((e) => {
      const [tx, tw, tb] = [e.upload(x, [R, D]), e.upload(w, [D]), e.upload(b, [D])];
      const y = layerNorm(e, tx, { weight: tw, bias: tb, eps: 1e-6 });
      e.release(tx, tw, tb);
      return y;
    });
    expect(maxAbsDiff(out, layerNormRef(x, D, w, b, 1e-6))).toBeLessThan(1e-5);
  });

  it('normalises a strided subset of rows (one token per sequence)', async () => {
    const [B, T, D] = [4, 6, 12];
    const x = rand('x', [B, T, D]);
    const w = rand('w', [D]);
    const b = rand('b', [D]);
    const out = await run((e) => {
      const [tx, tw, tb] = [e.upload(x, [B, T, D]), e.upload(w, [D]), e.upload(b, [D])];
      const y = layerNorm(e, tx, { weight: tw, bias: tb, eps: 1e-5 }, { rows: B, rowStride: T * D, rowOffset: D });
      e.release(tx, tw, tb);
      return y;
    });
    const rows = new Float32Array(B * D);
    for (let r = 0; r < B; r++) rows.set(x.subarray(r * T * D + D, r * T * D + 2 * D), r * D);
    expect(maxAbsDiff(out, layerNormRef(rows, D, w, b, 1e-5))).toBeLessThan(1e-5);
  });
});

describe('softmax', () => {
  it('is stable for large logits (1e-6)', async () => {
    const [R, N] = [5, 1000];
    const x = rand('x', [R, N], 40).map((v) => v + 500);
    const out = await run((e) => {
      const t = e.upload(x, [R, N]);
      const y = softmax(e, t);
      e.release(t);
      return y;
    });
    expect(maxAbsDiff(out, softmaxRef(x, N))).toBeLessThan(1e-6);
  });
});

describe('attention', () => {
  const [B, T, H, Dh] = [3, 11, 2, 8];
  const D = H * Dh;
  const qkv = rand('qkv', [B, T, 3 * D], 1.5);
  const keep = new Uint32Array(B * T).map((_, i) => (i % T === 0 || (i * 7) % 3 !== 0 ? 1 : 0));

  it.each([
    { masked: false, queries: T },
    { masked: true, queries: T },
    { masked: true, queries: 2 },
  ])('masked $masked, first $queries queries: output and probabilities (2e-6)', async ({ masked, queries }) => {
    const e = await testEngine();
    const tqkv = e.upload(qkv, [B, T, 3 * D]);
    const tkeep = masked ? e.upload(keep, [B, T]) : undefined;
    const result = attention(e, tqkv, { heads: H, queries, withProbabilities: true, ...(tkeep ? { keyKeep: tkeep } : {}) });
    const out = await e.read(result.out);
    const probs = await e.read(result.probabilities!);
    e.release(tqkv, tkeep, result.out, result.probabilities);
    for (let b = 0; b < B; b++) {
      const seq = qkv.subarray(b * T * 3 * D, (b + 1) * T * 3 * D);
      const ref = attentionRef(seq, T, H, Dh, masked ? (j) => keep[b * T + j] === 1 : undefined);
      expect(maxAbsDiff(out.subarray(b * queries * D, (b + 1) * queries * D), ref.out.subarray(0, queries * D))).toBeLessThan(2e-6);
      for (let h = 0; h < H; h++) {
        const got = probs.subarray(((b * H + h) * queries) * T, ((b * H + h) * queries + queries) * T);
        const want = ref.probs.subarray(h * T * T, h * T * T + queries * T);
        expect(maxAbsDiff(got, want)).toBeLessThan(2e-6);
        if (masked) for (let j = 0; j < T; j++) if (keep[b * T + j] === 0) expect(got[j]).toBe(0);
      }
    }
  });
});

describe('token kernels', () => {
  it('gathers rows, writing zeros for padding', async () => {
    const [rows, D] = [6, 5];
    const src = rand('src', [4, D]);
    const index = new Uint32Array([3, 0, PAD_ROW, 2, 2, 1]);
    const out = await run((e) => {
      const [ts, ti] = [e.upload(src, [4, D]), e.upload(index, [rows])];
      const y = gatherRows(e, ts, ti, D, [rows, D]);
      e.release(ts, ti);
      return y;
    });
    const expected = new Float32Array(rows * D);
    index.forEach((i, r) => i !== PAD_ROW && expected.set(src.subarray(i * D, (i + 1) * D), r * D));
    expect(Array.from(out)).toEqual(Array.from(expected));
  });

  it('unfolds patches in PyTorch conv-weight order', async () => {
    const [B, C, H, W, P] = [2, 3, 8, 12, 4];
    const images = rand('img', [B, C, H, W]);
    const out = await run((e) => {
      const t = e.upload(images, [B, C, H, W]);
      const y = patchIm2col(e, t, P);
      e.release(t);
      return y;
    });
    const gw = W / P;
    const patches = (H / P) * gw;
    for (let b = 0; b < B; b++)
      for (let p = 0; p < patches; p++)
        for (let c = 0; c < C; c++)
          for (let ky = 0; ky < P; ky++)
            for (let kx = 0; kx < P; kx++) {
              const y = Math.floor(p / gw) * P + ky;
              const x = (p % gw) * P + kx;
              expect(out[(b * patches + p) * C * P * P + c * P * P + ky * P + kx]).toBe(images[((b * C + c) * H + y) * W + x]);
            }
  });

  it.each([true, false])('prepends prefix tokens and adds positions (position rows for prefix: %s)', async (posHasPrefix) => {
    const [B, N, nPrefix, D] = [2, 5, 2, 3];
    const patches = rand('patches', [B * N, D]);
    const prefix = rand('prefix', [nPrefix, D]);
    const posRows = posHasPrefix ? nPrefix + N : N;
    const pos = rand('pos', [posRows, D]);
    const out = await run((e) => {
      const [tp, tf, tpos] = [e.upload(patches, [B * N, D]), e.upload(prefix, [nPrefix, D]), e.upload(pos, [posRows, D])];
      const y = embedTokens(e, tp, B, tf, nPrefix, tpos, posHasPrefix);
      e.release(tp, tf, tpos);
      return y;
    });
    const T = nPrefix + N;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let d = 0; d < D; d++) {
          const base = t < nPrefix ? prefix[t * D + d]! : patches[(b * N + t - nPrefix) * D + d]!;
          const posRow = posHasPrefix ? t : t - nPrefix;
          const expected = Math.fround(base + (posRow >= 0 ? pos[posRow * D + d]! : 0));
          expect(out[(b * T + t) * D + d]).toBe(expected);
        }
  });

  it('averages flagged tokens and gives zeros for none (1e-6)', async () => {
    const [R, T, D] = [3, 4, 2];
    const x = rand('x', [R, T, D]);
    const keep = new Uint32Array([0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    const out = await run((e) => {
      const [tx, tk] = [e.upload(x, [R, T, D]), e.upload(keep, [R, T])];
      const y = meanTokens(e, tx, tk);
      e.release(tx, tk);
      return y;
    });
    const expected = new Float32Array(R * D);
    for (let r = 0; r < R; r++) {
      const kept = [0, 1, 2, 3].filter((t) => keep[r * T + t] === 1);
      for (let d = 0; d < D; d++) expected[r * D + d] = kept.length ? kept.reduce((s, t) => s + x[(r * T + t) * D + d]!, 0) / kept.length : 0;
    }
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-6);
  });

  it('scales and adds', async () => {
    const a = rand('a', [300]);
    const b = rand('b', [300]);
    const out = await run((e) => {
      const [ta, tb] = [e.upload(a, [300]), e.upload(b, [300])];
      const y = scaleAdd(e, ta, tb, 0.5, -2);
      e.release(ta, tb);
      return y;
    });
    expect(maxAbsDiff(out, a.map((v, i) => 0.5 * v - 2 * b[i]!))).toBeLessThan(1e-6);
  });
});
