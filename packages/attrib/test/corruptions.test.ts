import { readFileSync } from 'node:fs';
import type { HostTensor } from '@moxi/kernels';
import { describe, expect, it } from 'vitest';
import {
  corrupt,
  FOG_SEVERITY_5,
  fog,
  fogMapSize,
  GAUSSIAN_NOISE_SIGMA,
  gaussianNoise,
  plasmaFractal,
  seededCorruptionRandom,
  type CorruptionRandom,
} from '../src/perturb/corruptions.ts';
import { deriveSeed, SeededRandom } from '../src/random.ts';

// ImageNet-C's formulas restated in numpy with numpy's generator swapped for fixed draws
// (tools/fixtures/make_corruption_goldens.py). The corruption math is float64 on both sides
// in the same operation order, so the only error is the float32 rounding of our outputs
// (half an ulp below 1 is 3e-8; measured max 3.0e-8) plus the golden's 10 significant
// digits (<= 5e-11): bound 6e-8. The plasma map stays float64 and matches to the bit.
const PIXEL_TOLERANCE = 6e-8;

interface ImageCase {
  shape: [number, number, number];
  codes: number[];
  output: number[];
}
interface Golden {
  gaussianNoiseSigma: number;
  fog: { strength: number; wibbleDecay: number };
  mulberry32: { seed: number; first: number[] };
  deriveSeed: { seed: number; key: string; value: number }[];
  gaussianNoise: ImageCase & { normals: number[] };
  plasma16: { mapSize: number; uniforms: number[]; map: number[] };
  plasma256: { mapSize: number; mulberry32Seed: number; crop: [number, number]; map: number[]; sum: number };
  fogCases: (ImageCase & { mulberry32Seed: number })[];
  seededGaussianNoise: ImageCase & { seed: number; key: string };
}
const golden = JSON.parse(readFileSync(new URL('fixtures/corruption-goldens.json', import.meta.url), 'utf8')) as Golden;

const imageOf = (c: ImageCase): HostTensor => ({ shape: c.shape, data: Float32Array.from(c.codes, (k) => Math.fround(k / 255)) });

/** Hands out stored draws in order and fails on a draw of the wrong kind or one too many. */
function fixedDraws(draws: { uniforms?: readonly number[]; normals?: readonly number[] }) {
  let u = 0;
  let n = 0;
  const next = (list: readonly number[] | undefined, i: number, kind: string) => {
    if (!list || i >= list.length) throw new Error(`unexpected ${kind} draw #${i}`);
    return list[i]!;
  };
  const random: CorruptionRandom = { uniform: () => next(draws.uniforms, u++, 'uniform'), normal: () => next(draws.normals, n++, 'normal') };
  return { random, used: () => ({ uniforms: u, normals: n }) };
}

function maxAbsError(actual: ArrayLike<number>, expected: readonly number[]): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

// Spreading 200k values into Math.min overflows the stack.
const minOf = (values: Iterable<number>) => Array.from(values).reduce((a, b) => Math.min(a, b), Infinity);
const maxOf = (values: Iterable<number>) => Array.from(values).reduce((a, b) => Math.max(a, b), -Infinity);

const constant = (shape: [number, number, number], value: number): HostTensor => ({ shape, data: new Float32Array(shape[0] * shape[1] * shape[2]).fill(value) });

describe('ImageNet-C corruptions against the numpy golden', () => {
  it('uses the severity-5 constants of the ImageNet-C tables', () => {
    expect(GAUSSIAN_NOISE_SIGMA).toBe(golden.gaussianNoiseSigma);
    expect(FOG_SEVERITY_5).toEqual(golden.fog);
  });

  it('ports mulberry32 and the seed derivation bit for bit', () => {
    const random = new SeededRandom(golden.mulberry32.seed);
    expect(golden.mulberry32.first.map(() => random.next())).toEqual(golden.mulberry32.first);
    for (const { seed, key, value } of golden.deriveSeed) expect(deriveSeed(seed, key)).toBe(value);
  });

  it('adds Gaussian noise with the stored normals, drawn in HWC order', () => {
    const c = golden.gaussianNoise;
    const draws = fixedDraws({ normals: c.normals });
    expect(maxAbsError(gaussianNoise(imageOf(c), draws.random), c.output)).toBeLessThanOrEqual(PIXEL_TOLERANCE);
    expect(draws.used()).toEqual({ uniforms: 0, normals: c.normals.length });
  });

  it('builds the plasma map of size 16 from the stored uniforms', () => {
    const c = golden.plasma16;
    const draws = fixedDraws({ uniforms: c.uniforms });
    expect(maxAbsError(plasmaFractal(c.mapSize, FOG_SEVERITY_5.wibbleDecay, draws.random), c.map)).toBe(0);
    expect(draws.used().uniforms).toBe(c.mapSize * c.mapSize - 1);
  });

  it('builds the plasma map of size 256 from a mulberry32 stream', () => {
    const c = golden.plasma256;
    const map = plasmaFractal(c.mapSize, FOG_SEVERITY_5.wibbleDecay, seededCorruptionRandom(c.mulberry32Seed));
    const [rows, cols] = c.crop;
    const crop = Array.from({ length: rows * cols }, (_, i) => map[Math.floor(i / cols) * c.mapSize + (i % cols)]!);
    // The stored crop has 12 significant digits.
    expect(maxAbsError(crop, c.map)).toBeLessThan(1e-11);
    expect(map.reduce((a, b) => a + b, 0)).toBeCloseTo(c.sum, 9);
  });

  it.each(golden.fogCases.map((c) => [c.shape.join('x'), c] as const))('fogs a %s image (map %#)', (_, c) => {
    const out = fog(imageOf(c), seededCorruptionRandom(c.mulberry32Seed));
    expect(maxAbsError(out, c.output)).toBeLessThanOrEqual(PIXEL_TOLERANCE);
  });

  it('corrupt() with a derived seed reproduces the golden seeded noise (mulberry32 + Box-Muller)', () => {
    const c = golden.seededGaussianNoise;
    // Box-Muller's log and cos may differ by an ulp between V8 and glibc: far below the bound.
    expect(maxAbsError(corrupt('gaussian-noise', imageOf(c), deriveSeed(c.seed, c.key)), c.output)).toBeLessThanOrEqual(PIXEL_TOLERANCE);
  });

  it.each(golden.fogCases.map((c) => [c.shape.join('x'), c] as const))("corrupt('fog') on a %s image is the golden severity-5 fog (strength 3, wibble decay 1.4)", (_, c) => {
    // What an evaluation runs: corrupt() with only a seed, no parameters of its own.
    expect(maxAbsError(corrupt('fog', imageOf(c), c.mulberry32Seed), c.output)).toBeLessThanOrEqual(PIXEL_TOLERANCE);
    // Severity 4 (ImageNet-C: strength 2.5, decay 1.5) from the same draws is far off.
    expect(maxAbsError(fog(imageOf(c), seededCorruptionRandom(c.mulberry32Seed), 2.5, 1.5), c.output)).toBeGreaterThan(1e-3);
  });
});

describe('ImageNet-C corruptions, by hand', () => {
  it('draws one normal per pixel and channel, channel fastest, and writes CHW', () => {
    let k = 0;
    const random: CorruptionRandom = { uniform: () => Number.NaN, normal: () => k++ / 1000 };
    const [C, H, W] = [3, 2, 2];
    const out = gaussianNoise(constant([C, H, W], 0), random);
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < H * W; p++) expect(out[c * H * W + p]).toBeCloseTo((GAUSSIAN_NOISE_SIGMA * (p * C + c)) / 1000, 7);
    }
  });

  it('computes a 2 x 2 plasma map: wibble * U(-wibble, wibble), quarter sums on a torus', () => {
    const draws = fixedDraws({ uniforms: [0.75, 0.5, 0.25] });
    // centre (1,1): 4 * 0 / 4 + 100 * (-100 + 200 * 0.75) = 5000; (0,1) and (1,0): each sees
    // the centre twice and the corner twice: 10000 / 4 + 100 * 0 = 2500, 2500 - 5000 = -2500.
    // Then (map - min) / max: [0, 2500, -2500, 5000] -> [2500, 5000, 0, 7500] / 7500.
    expect(Array.from(plasmaFractal(2, FOG_SEVERITY_5.wibbleDecay, draws.random))).toEqual([1 / 3, 2 / 3, 0, 1]);
  });

  it('uses a 256 map up to 256 px, else the next power of two', () => {
    expect(fogMapSize(224, 224)).toBe(256);
    expect(fogMapSize(12, 10)).toBe(256);
    expect(fogMapSize(256, 256)).toBe(256);
    expect(fogMapSize(4, 257)).toBe(512);
    expect(fogMapSize(1024, 300)).toBe(1024);
  });

  it('refuses an image that is not one [C, H, W]', () => {
    expect(() => fog({ shape: [1, 3, 4, 4], data: new Float32Array(48) }, seededCorruptionRandom(0))).toThrow(/one image \[C, H, W\]/);
    expect(() => gaussianNoise({ shape: [3, 4, 4], data: new Float32Array(47) }, seededCorruptionRandom(0))).toThrow(/needs 48/);
  });
});

describe('seeded corruptions', () => {
  const image: HostTensor = { shape: [3, 20, 16], data: Float32Array.from({ length: 960 }, (_, i) => (i % 97) / 96) };
  const before = Float32Array.from(image.data);

  it.each(['gaussian-noise', 'fog'] as const)('%s: same seed and key, same pixels; another seed or key, others', (kind) => {
    const run = (seed: number, key: string) => corrupt(kind, image, deriveSeed(seed, key));
    const a = run(1, 'val/a.JPEG');
    expect(run(1, 'val/a.JPEG')).toEqual(a);
    expect(run(2, 'val/a.JPEG')).not.toEqual(a);
    expect(run(1, 'val/b.JPEG')).not.toEqual(a);
    expect(a).toHaveLength(image.data.length);
    expect(image.data).toEqual(before);
  });

  it('gives distinct seeds for nearby seeds and keys', () => {
    const seeds = new Set<number>();
    for (let s = 0; s < 50; s++) for (const key of ['a', 'b', 'ab', 'ba', '']) seeds.add(deriveSeed(s, key));
    expect(seeds.size).toBe(250);
  });

  it('draws standard normals', () => {
    const random = seededCorruptionRandom(42);
    const n = 100_000;
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const z = random.normal();
      sum += z;
      squares += z * z;
    }
    // Standard errors: 0.003 for the mean, 0.0045 for the variance.
    expect(Math.abs(sum / n)).toBeLessThan(0.015);
    expect(Math.abs(squares / n - 1)).toBeLessThan(0.02);
  });
});

describe('statistics that pin the constants', () => {
  it('noise has sigma 0.38: the quartiles of 0.5 + noise lie inside the clip range', () => {
    const out = Float64Array.from(corrupt('gaussian-noise', constant([3, 224, 224], 0.5), 3)).sort();
    const quantile = (q: number) => out[Math.floor(q * (out.length - 1))]!;
    // clip(0.5 + sigma z) only changes |z| > 0.5 / 0.38 = 1.32, so the quartiles, at
    // z = +-0.674, are those of the unclipped noise: IQR = 2 * 0.67449 * sigma. 150,528
    // samples put the estimate within ~0.5 % (1 sigma); 0.26 would be 30 % off.
    const sigma = (quantile(0.75) - quantile(0.25)) / (2 * 0.6744898);
    expect(Math.abs(sigma / 0.38 - 1)).toBeLessThan(0.02);
    // Share clipped to 1: P(z > 1.3158) = 0.0941.
    expect(out.filter((v) => v === 1).length / out.length).toBeCloseTo(0.0941, 2);
  });

  it('the plasma map spans exactly [0, 1]', () => {
    const map = plasmaFractal(256, FOG_SEVERITY_5.wibbleDecay, seededCorruptionRandom(9));
    expect(minOf(map)).toBe(0);
    expect(maxOf(map)).toBe(1);
  });

  it('fog maps a 256 px grey image onto [1/14, 1/2]: x * m / (m + 3) with m = 0.5, x in [0.5, 3.5]', () => {
    // The 256 x 256 image sees the whole map, so its minimum 0 and maximum 1 both appear.
    // Strength 2.5 would give a minimum of 1/12.
    const out = fog(constant([3, 256, 256], 0.5), seededCorruptionRandom(4));
    expect(minOf(out)).toBeCloseTo(0.25 / 3.5, 7);
    expect(maxOf(out)).toBeCloseTo(0.5, 7);
    const plane = 256 * 256;
    expect(out.subarray(0, plane)).toEqual(out.subarray(2 * plane));
  });

  it('fog leaves an all-black image black (max pixel 0)', () => {
    const out = fog(constant([3, 8, 8], 0), seededCorruptionRandom(1));
    expect(out).toHaveLength(3 * 8 * 8);
    expect(out.every((v) => v === 0)).toBe(true);
  });
});
