import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GpuEngine } from '../../src/gpu/engine.ts';
import { parseNpy } from '../../src/io/npy.ts';
import { attention } from '../../src/ops/attention.ts';
import { layerNorm } from '../../src/ops/layernorm.ts';
import { linear } from '../../src/ops/matmul.ts';
import { softmax } from '../../src/ops/softmax.ts';
import { patchIm2col } from '../../src/ops/tokens.ts';
import { transposeMatrix } from '../../src/models/weight-reader.ts';
import { conv2d, maxPool2d } from '../../src/ops/conv2d.ts';
import { nchwToNhwc, nhwcToNchw } from '../../src/reference/ops.ts';
import { deterministicTensor } from '../../src/testing/index.ts';
import { maxAbs, maxAbsDiff, testEngine } from '../helpers/gpu.ts';

// Each kernel against torch's own operator (tools/fixtures/make_op_goldens.py, float64).
// Inputs are rebuilt from the shared generator; tolerances are absolute, stated per case.
const root = new URL('../fixtures/ops/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('cases.json', root), 'utf8')) as {
  seed: number;
  cases: Array<{
    name: string;
    output: string;
    inputs: Record<string, number[]>;
    offsets?: Record<string, number>;
    eps?: number;
    keyKeep?: number[][];
    heads?: number;
    patch?: number;
    kernel?: number;
    stride?: number;
    padding?: number;
  }>;
};

function golden(name: string) {
  const c = manifest.cases.find((k) => k.name === name)!;
  const input = (key: string) => {
    const spec = c.inputs[key]!;
    return deterministicTensor(key, spec.slice(0, -1), manifest.seed, spec[spec.length - 1]!, c.offsets?.[key] ?? 0);
  };
  const expected = parseNpy(new Uint8Array(readFileSync(new URL(c.output, root))), c.output).data;
  return { c, input, expected };
}

async function check(name: string, tolerance: number, compute: (e: GpuEngine, g: ReturnType<typeof golden>) => Promise<Float32Array>): Promise<void> {
  const g = golden(name);
  const out = await compute(await testEngine(), g);
  expect(maxAbs(g.expected)).toBeGreaterThan(0.1);
  expect(maxAbsDiff(out, g.expected)).toBeLessThan(tolerance);
}

describe('kernels vs PyTorch', () => {
  it('linear + bias + exact GELU + residual matches F.gelu(F.linear) + r (1e-5)', () =>
    check('linear-gelu-residual', 1e-5, async (e, { input }) => {
      const [x, w, b, r] = [input('x'), input('w'), input('b'), input('r')];
      const [N, K] = w.shape as [number, number];
      const layer = { weight: e.upload(transposeMatrix(w.data, N, K), [K, N]), bias: e.upload(b.data, [N]), inFeatures: K, outFeatures: N };
      const tx = e.upload(x.data, x.shape);
      const tr = e.upload(r.data, r.shape);
      const y = linear(e, tx, layer, { activation: 'gelu', residual: tr });
      const out = await e.read(y);
      e.release(tx, tr, y, layer.weight, layer.bias);
      return out;
    }));

  it('layernorm matches F.layer_norm with eps 1e-3 (1e-5)', () =>
    check('layernorm', 1e-5, async (e, { c, input }) => {
      const [x, w, b] = [input('ln-x'), input('ln-w'), input('ln-b')];
      const [tx, tw, tb] = [e.upload(x.data, x.shape), e.upload(w.data, w.shape), e.upload(b.data, b.shape)];
      const y = layerNorm(e, tx, { weight: tw, bias: tb, eps: c.eps! });
      const out = await e.read(y);
      e.release(tx, tw, tb, y);
      return out;
    }));

  it('softmax matches torch.softmax (1e-6)', () =>
    check('softmax', 1e-6, async (e, { input }) => {
      const x = input('sm-x');
      const tx = e.upload(x.data, x.shape);
      const y = softmax(e, tx);
      const out = await e.read(y);
      e.release(tx, y);
      return out;
    }));

  it.each(['attention-out', 'attention-probs'])('masked attention %s matches masked_fill(-inf) + softmax (2e-6)', (name) =>
    check(name, 2e-6, async (e, { c, input }) => {
      const qkv = input('qkv');
      const tq = e.upload(qkv.data, qkv.shape);
      const keep = e.upload(Uint32Array.from(c.keyKeep!.flat()), [c.keyKeep!.length, c.keyKeep![0]!.length]);
      const r = attention(e, tq, { heads: c.heads!, keyKeep: keep, withProbabilities: true });
      const out = await e.read(name === 'attention-out' ? r.out : r.probabilities!);
      e.release(tq, keep, r.out, r.probabilities);
      return out;
    }));

  it('patch unfold + matmul matches F.conv2d with kernel = stride (1e-5)', () =>
    check('patch-embed', 1e-5, async (e, { c, input }) => {
      const [img, w, b] = [input('img'), input('cw'), input('cb')];
      const [E, C, P] = w.shape as [number, number, number];
      const K = C * P * P;
      const layer = { weight: e.upload(transposeMatrix(w.data, E, K), [K, E]), bias: e.upload(b.data, [E]), inFeatures: K, outFeatures: E };
      const ti = e.upload(img.data, img.shape);
      const cols = patchIm2col(e, ti, c.patch!);
      const y = linear(e, cols, layer);
      const out = await e.read(y);
      e.release(ti, cols, y, layer.weight, layer.bias);
      return out;
    }));

  it('NHWC conv2d matches F.conv2d, 3x3 stride 2 pad 1 (1e-5)', () =>
    check('conv2d', 1e-5, async (e, { c, expected, input }) => {
      const [x, w, b] = [input('conv-x'), input('conv-w'), input('conv-b')];
      const [OC, C, K] = w.shape as [number, number, number];
      const wk = new Float32Array(w.data.length);
      for (let o = 0; o < OC; o++) for (let i = 0; i < C; i++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) wk[((ky * K + kx) * C + i) * OC + o] = w.data[((o * C + i) * K + ky) * K + kx]!;
      const [B, , H, W] = x.shape as [number, number, number, number];
      const tx = e.upload(nchwToNhwc(x.data, x.shape), [B, H, W, C]);
      const weights = { weight: e.upload(wk, [wk.length]), bias: e.upload(b.data, [OC]), inChannels: C, outChannels: OC, kernel: K, stride: c.stride!, padding: c.padding! };
      const y = conv2d(e, tx, weights);
      const out = await e.read(y);
      e.release(tx, weights.weight, weights.bias, y);
      const [, OH, OW] = y.shape as [number, number, number];
      expect(out.length).toBe(expected.length);
      return nhwcToNchw(out, [B, OH, OW, OC]);
    }));

  it('NHWC max-pool matches F.max_pool2d (exact up to 1e-7)', () =>
    check('max-pool', 1e-7, async (e, { c, input }) => {
      const x = input('conv-x');
      const [B, C, H, W] = x.shape as [number, number, number, number];
      const tx = e.upload(nchwToNhwc(x.data, x.shape), [B, H, W, C]);
      const y = maxPool2d(e, tx, c.kernel!, c.stride!, c.padding!);
      const out = await e.read(y);
      e.release(tx, y);
      return nhwcToNchw(out, y.shape as [number, number, number, number]);
    }));
});

