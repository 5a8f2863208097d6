import { numberDefault, optionDefault, type HEAD_FUSIONS } from '../explain-options.ts';
import { OptionError, prefixTokenCount, VisionTransformer, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import { attentionRefusal } from '../attribution.ts';

export type HeadFusion = (typeof HEAD_FUSIONS)[number];

export interface RolloutOptions {
  fusion?: HeadFusion;
  /** Share of each row's entries (CLS column excepted) set to 0 before adding I. */
  discardRatio?: number;
}

/**
 * Attention rollout (Abnar & Zuidema 2020; docs/methods.md): per block fuse the heads,
 * optionally drop the lowest entries of each row (never the CLS column), add I, normalise
 * rows; R = A_L ... A_1; the scores are R's CLS row over the patch columns, divided by
 * their maximum.
 */
export async function attentionRollout(model: ImageClassifier, image: HostTensor, options: RolloutOptions = {}): Promise<{ scores: number[]; grid: [number, number] }> {
  if (!(model instanceof VisionTransformer)) throw new OptionError('method', attentionRefusal('rollout'));
  const result = await model.forward(image, { captureAttention: true });
  const maps = result.attention!;
  const [gh, gw] = model.grid;
  const nPrefix = prefixTokenCount(model.config);
  const T = nPrefix + gh * gw;
  const H = model.config.numHeads;
  const fusion = options.fusion ?? (optionDefault('headFusion') as HeadFusion);
  const drop = Math.floor((options.discardRatio ?? numberDefault('discardRatio')) * T);
  let R = identity(T);
  for (const probs of maps) {
    const A = new Float64Array(T * T);
    for (let i = 0; i < T * T; i++) {
      let v = fusion === 'mean' ? 0 : fusion === 'max' ? -Infinity : Infinity;
      for (let h = 0; h < H; h++) {
        const p = probs[h * T * T + i]!;
        v = fusion === 'mean' ? v + p / H : fusion === 'max' ? Math.max(v, p) : Math.min(v, p);
      }
      A[i] = v;
    }
    if (drop > 0) {
      for (let r = 0; r < T; r++) {
        // The smallest `drop` entries among columns 1..T-1; ties drop the lower column first.
        const cols = Array.from({ length: T - 1 }, (_, k) => k + 1).sort((a, b) => A[r * T + a]! - A[r * T + b]! || a - b);
        for (const c of cols.slice(0, drop)) A[r * T + c] = 0;
      }
    }
    for (let r = 0; r < T; r++) {
      A[r * T + r]! += 1;
      let sum = 0;
      for (let c = 0; c < T; c++) sum += A[r * T + c]!;
      for (let c = 0; c < T; c++) A[r * T + c]! /= sum;
    }
    R = multiply(A, R, T);
  }
  const row = Array.from({ length: gh * gw }, (_, p) => R[nPrefix + p]!);
  const max = Math.max(...row);
  return { scores: row.map((v) => v / max), grid: [gh, gw] };
}

function identity(T: number): Float64Array {
  const I = new Float64Array(T * T);
  for (let i = 0; i < T; i++) I[i * T + i] = 1;
  return I;
}

function multiply(a: Float64Array, b: Float64Array, T: number): Float64Array {
  const c = new Float64Array(T * T);
  for (let i = 0; i < T; i++)
    for (let k = 0; k < T; k++) {
      const v = a[i * T + k]!;
      if (v === 0) continue;
      for (let j = 0; j < T; j++) c[i * T + j]! += v * b[k * T + j]!;
    }
  return c;
}
