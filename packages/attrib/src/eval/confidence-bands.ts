import { SeededRandom } from '../random.ts';

/** A pointwise interval around a mean curve: `lower[j] <= mean[j] <= upper[j]` (up to resampling). */
export interface Band {
  lower: number[];
  upper: number[];
}

/** The level of every band in a report. */
export const BAND_LEVEL = 0.95;
/** The standard normal quantile at 0.975. */
const Z_95 = 1.959963984540054;

/** Bootstrap replicates of a mean-probability band, and the seed that draws them (fixed: a report is reproducible). */
export const BOOTSTRAP_REPLICATES = 1000;
export const BOOTSTRAP_SEED = 0;

/**
 * The Wilson score interval of a proportion: `successes` of `n` trials at the normal quantile
 * `z` (95% by default). Unlike p ± z·sqrt(p(1-p)/n) it stays inside [0, 1] and is not empty at
 * p = 0 or 1. n = 0 gives [0, 1].
 */
export function wilsonInterval(successes: number, n: number, z = Z_95): [number, number] {
  if (n <= 0) return [0, 1];
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = ((z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n)));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Wilson intervals of an accuracy curve: `accuracy[j]` is the share of `n` images correct at point j. */
export function wilsonBand(accuracy: readonly number[], n: number): Band {
  const lower: number[] = [];
  const upper: number[] = [];
  for (const a of accuracy) {
    const [lo, hi] = wilsonInterval(Math.round(a * n), n);
    lower.push(lo);
    upper.push(hi);
  }
  return { lower, upper };
}

/**
 * `replicates` resamples of n images with replacement, each a list of n indices in 0..n-1,
 * drawn from mulberry32 seeded with `seed` (index = floor(u * n), u uniform in [0, 1)).
 */
export function bootstrapResamples(n: number, replicates = BOOTSTRAP_REPLICATES, seed = BOOTSTRAP_SEED): Uint32Array[] {
  const random = new SeededRandom(seed);
  const resamples: Uint32Array[] = [];
  for (let b = 0; b < replicates; b++) {
    const indices = new Uint32Array(n);
    for (let i = 0; i < n; i++) indices[i] = Math.floor(random.next() * n);
    resamples.push(indices);
  }
  return resamples;
}

/**
 * The percentile bootstrap band of a mean curve: for every resample, the mean over its images
 * at each point; the band is the (1 - level) / 2 and (1 + level) / 2 quantiles of those means
 * (linear interpolation between order statistics, R's type 7). `curves[i]` is image i's curve.
 */
export function bootstrapMeanBand(curves: readonly (readonly number[])[], resamples: readonly ArrayLike<number>[], level = BAND_LEVEL): Band {
  const points = curves[0]?.length ?? 0;
  const means = Array.from({ length: points }, () => new Float64Array(resamples.length));
  resamples.forEach((indices, b) => {
    const sum = new Float64Array(points);
    for (let k = 0; k < indices.length; k++) {
      const curve = curves[indices[k]!]!;
      for (let j = 0; j < points; j++) sum[j]! += curve[j]!;
    }
    for (let j = 0; j < points; j++) means[j]![b] = sum[j]! / indices.length;
  });
  const lower: number[] = [];
  const upper: number[] = [];
  for (const m of means) {
    m.sort();
    lower.push(quantile(m, (1 - level) / 2));
    upper.push(quantile(m, (1 + level) / 2));
  }
  return { lower, upper };
}

/** The q-quantile of sorted values, interpolating linearly between order statistics (R type 7). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
