import type { HostTensor } from '@moxi/kernels';
import { SeededRandom } from '../random.ts';

/**
 * ImageNet-C's Gaussian noise and fog at severity 5 (Hendrycks & Dietterich 2019; the
 * `imagecorruptions` package), on one image in CHW layout with float pixels in [0, 1].
 * docs/perturbations.md states the formulas, the random-draw order and every deviation.
 */

export const CORRUPTIONS = ['gaussian-noise', 'fog'] as const;
export type Corruption = (typeof CORRUPTIONS)[number];

/** ImageNet-C severity 5: noise standard deviation, in [0, 1] pixel units. */
export const GAUSSIAN_NOISE_SIGMA = 0.38;

/** ImageNet-C severity 5 fog: the plasma map's weight and its wibble decay per octave. */
export const FOG_SEVERITY_5 = { strength: 3, wibbleDecay: 1.4 } as const;

/** The random draws a corruption consumes; tests inject fixed draws to reproduce numpy. */
export interface CorruptionRandom {
  /** Uniform in [0, 1), numpy's random_sample. */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
}

/**
 * mulberry32 uniforms; each normal takes two of them (Box-Muller, cosine branch, no caching):
 * z = sqrt(-2 ln(1 - u1)) cos(2 pi u2). 1 - u1 is in (0, 1], so the log is finite.
 */
export function seededCorruptionRandom(seed: number): CorruptionRandom {
  const random = new SeededRandom(seed);
  return {
    uniform: () => random.next(),
    normal: () => {
      const u1 = random.next();
      const u2 = random.next();
      return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    },
  };
}

function chwShape(image: HostTensor): [number, number, number] {
  const [C, H, W] = image.shape;
  if (image.shape.length !== 3 || C === undefined || H === undefined || W === undefined) {
    throw new Error(`a corruption takes one image [C, H, W], got shape [${image.shape.join(', ')}]`);
  }
  if (image.data.length !== C * H * W) throw new Error(`image data has ${image.data.length} values, shape [${C}, ${H}, ${W}] needs ${C * H * W}`);
  return [C, H, W];
}

const clip01 = (v: number) => Math.min(1, Math.max(0, v));

/**
 * clip(x + sigma * z, 0, 1) with one standard normal z per pixel and channel. The normals are
 * drawn in numpy's order on an HWC array (h, then w, then c) and written to CHW.
 */
export function gaussianNoise(image: HostTensor, random: CorruptionRandom, sigma = GAUSSIAN_NOISE_SIGMA): Float32Array {
  const [C, H, W] = chwShape(image);
  const plane = H * W;
  const out = new Float32Array(image.data.length);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < C; c++) out[c * plane + p] = clip01(image.data[c * plane + p]! + sigma * random.normal());
  }
  return out;
}

/**
 * Side of the square plasma map fog crops its top-left H x W from: 256 (ImageNet-C's, for its
 * 224 px images) when the image fits, else the smallest power of two >= max(H, W).
 */
export function fogMapSize(height: number, width: number): number {
  let size = 256;
  while (size < Math.max(height, width)) size *= 2;
  return size;
}

/**
 * ImageNet-C's plasma fractal: a mapSize x mapSize height map (row-major, float64) on a torus,
 * by diamond-square, normalised to min 0 and max 1.
 *
 * Starting from map[0][0] = 0 and step = mapSize, each octave sets every new point to a
 * quarter of the sum of its four neighbours at distance step / 2 (indices wrap) plus
 * wibble * U(-wibble, wibble), with U(lo, hi) = lo + (hi - lo) * uniform(). An octave fills
 * the square centres (row-major over the centres), then the diamond points on the grid rows,
 * then those on the grid columns, each set row-major as numpy fills an array; then
 * step /= 2 and wibble /= wibbleDecay, until step < 2. wibble starts at 100.
 */
export function plasmaFractal(mapSize: number, wibbleDecay: number, random: CorruptionRandom): Float64Array {
  if (!(Number.isInteger(mapSize) && mapSize >= 2 && (mapSize & (mapSize - 1)) === 0)) {
    throw new Error(`plasma map size must be a power of two >= 2, got ${mapSize}`);
  }
  const n = mapSize;
  const map = new Float64Array(n * n);
  const at = (row: number, col: number) => map[((row + n) % n) * n + ((col + n) % n)]!;
  let wibble = 100;
  const wibbled = (neighbourSum: number) => neighbourSum / 4 + wibble * (-wibble + 2 * wibble * random.uniform());
  for (let step = n; step >= 2; step /= 2) {
    const half = step / 2;
    // The neighbour sums pair up as numpy's rolled sums do, (a + b) + (c + d), so that the
    // map matches ImageNet-C's float64 bits, not only its values.
    for (let r = 0; r < n; r += step) {
      for (let c = 0; c < n; c += step) {
        map[(r + half) * n + c + half] = wibbled(at(r, c) + at(r + step, c) + (at(r, c + step) + at(r + step, c + step)));
      }
    }
    for (let r = 0; r < n; r += step) {
      for (let c = 0; c < n; c += step) {
        map[r * n + c + half] = wibbled(at(r + half, c + half) + at(r - half, c + half) + (at(r, c) + at(r, c + step)));
      }
    }
    for (let r = 0; r < n; r += step) {
      for (let c = 0; c < n; c += step) {
        map[(r + half) * n + c] = wibbled(at(r + half, c + half) + at(r + half, c - half) + (at(r, c) + at(r + step, c)));
      }
    }
    wibble /= wibbleDecay;
  }
  let min = Infinity;
  for (const v of map) min = Math.min(min, v);
  let max = -Infinity;
  for (let i = 0; i < map.length; i++) {
    map[i]! -= min;
    max = Math.max(max, map[i]!);
  }
  for (let i = 0; i < map.length; i++) map[i]! /= max;
  return map;
}

/**
 * clip((x + strength * plasma[h][w]) * m / (m + strength), 0, 1), m the image's largest pixel
 * over all channels; one plasma map (fogMapSize, top-left crop) shared by every channel.
 */
export function fog(image: HostTensor, random: CorruptionRandom, strength: number = FOG_SEVERITY_5.strength, wibbleDecay: number = FOG_SEVERITY_5.wibbleDecay): Float32Array {
  const [C, H, W] = chwShape(image);
  const size = fogMapSize(H, W);
  const plasma = plasmaFractal(size, wibbleDecay, random);
  let maxPixel = -Infinity;
  for (const v of image.data) maxPixel = Math.max(maxPixel, v);
  const out = new Float32Array(image.data.length);
  for (let c = 0; c < C; c++) {
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        const i = (c * H + h) * W + w;
        out[i] = clip01(((image.data[i]! + strength * plasma[h * size + w]!) * maxPixel) / (maxPixel + strength));
      }
    }
  }
  return out;
}

/** The corruption at severity 5 with the draws of `seededCorruptionRandom(seed)`: same seed, same pixels. */
export function corrupt(kind: Corruption, image: HostTensor, seed: number): Float32Array {
  const random = seededCorruptionRandom(seed);
  return kind === 'fog' ? fog(image, random) : gaussianNoise(image, random);
}
