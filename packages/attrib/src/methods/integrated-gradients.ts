import type { HostTensor, ImageClassifier } from '@moxi/kernels';
import { IG_BASELINES, INTEGRATION_RULES, numberDefault, optionDefault } from '../explain-options.ts';
import { seededCorruptionRandom } from '../perturb/corruptions.ts';
import { targetLogitGradient } from './logit-gradient.ts';

/**
 * Input-gradient attributions with Captum's conventions (docs/methods.md): integrated
 * gradients, SmoothGrad and input x gradient. The target score is always the logit z_y,
 * differentiated with respect to the normalised input the model is given.
 */

/** Captum's n_steps methods ('gausslegendre' and the four 'riemann_*' rules), named in the option table. */
export type IntegrationRule = (typeof INTEGRATION_RULES)[number];
export type IgBaseline = (typeof IG_BASELINES)[number];

/** The option table's defaults (docs/options.md says why each). */
export const INTEGRATED_GRADIENTS_DEFAULTS = {
  /** Captum's n_steps default. */
  steps: numberDefault('steps'),
  /** Captum's default method. */
  rule: optionDefault('integration') as IntegrationRule,
  /** Captum's baselines=None: zeros of the tensor it is given, here the normalised input. */
  baseline: optionDefault('baseline') as IgBaseline,
  /**
   * Gaussian standard deviation of the blur baseline, in input pixels: at 224 px this wipes
   * out detail below about a 16 px patch while keeping the image's coarse layout and colours.
   */
  blurSigma: numberDefault('blurSigma'),
};

export const SMOOTHGRAD_DEFAULTS = {
  /** The SmoothGrad paper's sample count (Captum's NoiseTunnel defaults to 5). */
  samples: 50,
  /** sigma / (max - min of the input): the paper's recommended 15%. */
  noiseLevel: numberDefault('noiseLevel'),
  seed: 0,
};

export interface IntegratedGradientsOptions {
  steps?: number;
  rule?: IntegrationRule;
  baseline?: IgBaseline;
  blurSigma?: number;
  /** Grid of the per-player scores; default the model's grid. */
  grid?: [number, number];
}

export interface SmoothGradOptions {
  samples?: number;
  noiseLevel?: number;
  seed?: number;
  grid?: [number, number];
}

export interface InputTimesGradientOptions {
  grid?: [number, number];
}

export interface GradientAttribution {
  /** The attribution summed over channels, [H * W] row-major. */
  pixels: Float32Array;
  /** `pixels` summed over each cell of `grid` (cell edges at floor(i * H / gh)). */
  scores: number[];
  grid: [number, number];
  /** Images sent through forward + backward. */
  passes: number;
}

export type GradientMethodName = 'integrated-gradients' | 'smoothgrad' | 'input-x-gradient';

export type GradientMethodOptions<M extends GradientMethodName> = M extends 'integrated-gradients'
  ? IntegratedGradientsOptions
  : M extends 'smoothgrad'
    ? SmoothGradOptions
    : InputTimesGradientOptions;

/** Forward + backward image passes a gradient method will run, known before it runs. */
export function plannedGradientPasses<M extends GradientMethodName>(method: M, options: GradientMethodOptions<M> = {} as GradientMethodOptions<M>): number {
  if (method === 'integrated-gradients') return stepsOf(options as IntegratedGradientsOptions);
  if (method === 'smoothgrad') return samplesOf(options as SmoothGradOptions);
  return 1;
}

// ------------------------------------------------------------------ quadrature

/**
 * Captum's points and weights of one rule on [0, 1]. The Riemann rules take steps > 1 as
 * Captum does. Captum's trapezoid halves the end weights of n steps of 1/n while its points
 * are n evenly spaced ones from 0 to 1 (spacing 1/(n - 1)), so its weights sum to 1 - 1/n;
 * kept as is, for Captum's numbers.
 */
export function integrationRule(rule: IntegrationRule, steps: number): { alphas: number[]; weights: number[] } {
  checkCount('steps', steps, rule === 'gauss-legendre' ? 1 : 2);
  const n = steps;
  if (rule === 'gauss-legendre') return gaussLegendre(n);
  const weights = new Array<number>(n).fill(1 / n);
  const spaced = (from: number, to: number) => Array.from({ length: n }, (_, k) => from + ((to - from) * k) / (n - 1));
  switch (rule) {
    case 'riemann-left':
      return { alphas: spaced(0, 1 - 1 / n), weights };
    case 'riemann-right':
      return { alphas: spaced(1 / n, 1), weights };
    case 'riemann-middle':
      return { alphas: spaced(1 / (2 * n), 1 - 1 / (2 * n)), weights };
    case 'riemann-trapezoid':
      weights[0] = 1 / (2 * n);
      weights[n - 1] = 1 / (2 * n);
      return { alphas: spaced(0, 1), weights };
    default:
      throw new Error(`unknown integration rule "${rule as string}" (one of ${INTEGRATION_RULES.join(', ')})`);
  }
}

/**
 * n-point Gauss-Legendre on [0, 1], ascending: the roots of P_n by Newton's method from
 * the Chebyshev-like guess cos(pi (i + 3/4) / (n + 1/2)), P_n and P_n' by the three-term
 * recurrence, weights 2 / ((1 - x^2) P_n'(x)^2) on [-1, 1], then mapped to [0, 1] (points
 * (1 + x) / 2, weights halved) as Captum maps numpy's leggauss.
 */
export function gaussLegendre(n: number): { alphas: number[]; weights: number[] } {
  checkCount('steps', n, 1);
  const alphas = new Array<number>(n);
  const weights = new Array<number>(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      // P_n' from P_n and P_{n-1}: (1 - x^2) P_n' = n (P_{n-1} - x P_n).
      derivative = (n * (p0 - x * p1)) / (1 - x * x);
      const dx = p1 / derivative;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    const w = 2 / ((1 - x * x) * derivative * derivative);
    // Roots come largest first and are symmetric about 0.
    alphas[n - 1 - i] = (1 + x) / 2;
    alphas[i] = (1 - x) / 2;
    weights[n - 1 - i] = w / 2;
    weights[i] = w / 2;
  }
  return { alphas, weights };
}

// ------------------------------------------------------------------ baselines and noise

/**
 * Per-channel Gaussian blur of [1, C, H, W] (or [C, H, W]) in float64: a separable kernel
 * exp(-k^2 / (2 sigma^2)) for |k| <= ceil(3 sigma), normalised to sum 1, rows then columns.
 * Borders reflect about the edge pixel without repeating it (torch's padding mode
 * 'reflect': ... c b | a b c ...), repeated periodically when the kernel is wider than the
 * image, so every sigma works.
 */
export function gaussianBlurImage(image: HostTensor, sigma: number): HostTensor {
  if (!(Number.isFinite(sigma) && sigma > 0)) throw new Error(`blur sigma must be a positive number of pixels, got ${sigma}`);
  const [C, H, W] = imageShape(image);
  const radius = Math.ceil(3 * sigma);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, j) => Math.exp(-((j - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const taps = kernel.map((k) => k / total);
  const rows = new Float64Array(C * H * W);
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    const plane = c * H * W;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let j = -radius; j <= radius; j++) s += taps[j + radius]! * image.data[plane + y * W + reflectIndex(x + j, W)]!;
        rows[plane + y * W + x] = s;
      }
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let j = -radius; j <= radius; j++) s += taps[j + radius]! * rows[plane + reflectIndex(y + j, H) * W + x]!;
        out[plane + y * W + x] = s;
      }
  }
  return { shape: image.shape, data: out };
}

/** Index i folded into 0..n-1 by mirroring about the end pixels, period 2 (n - 1). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/**
 * SmoothGrad's noise: `samples` images of independent N(0, std^2) values, drawn in order
 * (sample, channel, row, column) by Box-Muller on the seeded mulberry32 generator (two
 * uniforms per value, cosine branch).
 */
export function smoothGradNoise(seed: number, samples: number, valuesPerImage: number, std: number): Float32Array[] {
  const random = seededCorruptionRandom(seed);
  return Array.from({ length: samples }, () => Float32Array.from({ length: valuesPerImage }, () => std * random.normal()));
}

// ------------------------------------------------------------------ methods

/**
 * Integrated gradients: (x - x') * sum_k w_k dz_y/dx (x' + a_k (x - x')), with the rule's
 * points a_k and weights w_k. All steps go through model.gradient in batches.
 */
export async function integratedGradients(model: ImageClassifier, image: HostTensor, target: number, options: IntegratedGradientsOptions = {}): Promise<GradientAttribution> {
  const [C, H, W] = modelImageShape(model, image);
  const grid = gridOf(model, options.grid, H, W);
  const { alphas, weights } = integrationRule(options.rule ?? INTEGRATED_GRADIENTS_DEFAULTS.rule, stepsOf(options));
  const baseline = baselineOf(image, options);
  const x = image.data;
  const size = C * H * W;
  const summed = new Float64Array(size);
  const passes = await gradientRows(model, target, alphas.length, size, (k, row) => {
    const a = alphas[k]!;
    for (let i = 0; i < size; i++) row[i] = baseline[i]! + a * (x[i]! - baseline[i]!);
  }, (k, gradient) => {
    const w = weights[k]!;
    for (let i = 0; i < size; i++) summed[i]! += w * gradient[i]!;
  });
  for (let i = 0; i < size; i++) summed[i] = (x[i]! - baseline[i]!) * summed[i]!;
  return result(summed, [C, H, W], grid, passes);
}

/** SmoothGrad: the mean of dz_y/dx over noisy copies x + n, n ~ N(0, (level (max - min))^2). */
export async function smoothGrad(model: ImageClassifier, image: HostTensor, target: number, options: SmoothGradOptions = {}): Promise<GradientAttribution> {
  const [C, H, W] = modelImageShape(model, image);
  const level = options.noiseLevel ?? SMOOTHGRAD_DEFAULTS.noiseLevel;
  if (!(Number.isFinite(level) && level >= 0)) throw new Error(`noise level must be a number >= 0, got ${level}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const noise = smoothGradNoise(options.seed ?? SMOOTHGRAD_DEFAULTS.seed, samplesOf(options), C * H * W, level * (hi - lo));
  return smoothGradWithNoise(model, image, target, noise, options.grid);
}

/**
 * SmoothGrad on given additive noise, one [C * H * W] array per sample: the reproducible
 * core of smoothGrad, which tests drive with the noise their reference used.
 */
export async function smoothGradWithNoise(model: ImageClassifier, image: HostTensor, target: number, noise: readonly Float32Array[], gridOption?: [number, number]): Promise<GradientAttribution> {
  const [C, H, W] = modelImageShape(model, image);
  const grid = gridOf(model, gridOption, H, W);
  const size = C * H * W;
  checkCount('samples', noise.length, 1);
  for (const n of noise) if (n.length !== size) throw new Error(`a noise sample has ${n.length} values, the image ${size}`);
  const summed = new Float64Array(size);
  const passes = await gradientRows(model, target, noise.length, size, (k, row) => {
    const n = noise[k]!;
    for (let i = 0; i < size; i++) row[i] = image.data[i]! + n[i]!;
  }, (_, gradient) => {
    for (let i = 0; i < size; i++) summed[i]! += gradient[i]! / noise.length;
  });
  return result(summed, [C, H, W], grid, passes);
}

/** Input x gradient: x * dz_y/dx, one pass. */
export async function inputTimesGradient(model: ImageClassifier, image: HostTensor, target: number, options: InputTimesGradientOptions = {}): Promise<GradientAttribution> {
  const [C, H, W] = modelImageShape(model, image);
  const grid = gridOf(model, options.grid, H, W);
  const size = C * H * W;
  const product = new Float64Array(size);
  const passes = await gradientRows(model, target, 1, size, (_, row) => row.set(image.data.subarray(0, size)), (_, gradient) => {
    for (let i = 0; i < size; i++) product[i] = image.data[i]! * gradient[i]!;
  });
  return result(product, [C, H, W], grid, passes);
}

// ------------------------------------------------------------------ shared

/**
 * Rows per model.gradient call: the model runs them in its own smaller chunks; this bounds
 * the host copies of inputs and gradients for long integrals at large resolutions.
 */
const ROWS_PER_CALL = 32;

/**
 * Runs `count` images (row k filled by `fill`) through forward + backward of z_target and
 * hands each row's dz_target/dinput to `take`; returns the passes run.
 */
async function gradientRows(
  model: ImageClassifier,
  target: number,
  count: number,
  size: number,
  fill: (k: number, row: Float32Array) => void,
  take: (k: number, gradient: Float32Array) => void,
): Promise<number> {
  if (!Number.isInteger(target) || target < 0 || target >= model.numClasses) throw new Error(`target ${target} is not a class of the model (0..${model.numClasses - 1})`);
  const [C, H, W] = model.inputShape;
  for (let first = 0; first < count; first += ROWS_PER_CALL) {
    const rows = Math.min(ROWS_PER_CALL, count - first);
    const data = new Float32Array(rows * size);
    for (let r = 0; r < rows; r++) fill(first + r, data.subarray(r * size, (r + 1) * size));
    const { inputGradient } = await model.gradient({ shape: [rows, C, H, W], data }, targetLogitGradient(target));
    for (let r = 0; r < rows; r++) take(first + r, inputGradient.subarray(r * size, (r + 1) * size));
  }
  return count;
}

function result(attribution: Float64Array, [C, H, W]: [number, number, number], grid: [number, number], passes: number): GradientAttribution {
  const plane = H * W;
  const summed = new Float64Array(plane);
  for (let c = 0; c < C; c++) for (let p = 0; p < plane; p++) summed[p]! += attribution[c * plane + p]!;
  return { pixels: Float32Array.from(summed), scores: cellSums(summed, [H, W], grid), grid, passes };
}

/**
 * Sums of a [H * W] map over the cells of a gh x gw grid. Cell i of a side of n pixels
 * spans floor(i n / g) up to floor((i + 1) n / g) - 1, so grids that do not divide the
 * image still cover every pixel exactly once (cells differ by at most one pixel).
 */
export function cellSums(map: ArrayLike<number>, [H, W]: readonly [number, number], [gh, gw]: readonly [number, number]): number[] {
  const cellOf = (n: number, g: number) => {
    const cells = new Int32Array(n);
    for (let i = 0; i < g; i++) cells.fill(i, Math.floor((i * n) / g), Math.floor(((i + 1) * n) / g));
    return cells;
  };
  const rowCell = cellOf(H, gh);
  const columnCell = cellOf(W, gw);
  const scores = new Float64Array(gh * gw);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) scores[rowCell[y]! * gw + columnCell[x]!]! += map[y * W + x]!;
  return Array.from(scores);
}

function imageShape(image: HostTensor): [number, number, number] {
  const shape = image.shape.length === 4 ? image.shape : [1, ...image.shape];
  const [B, C = 0, H = 0, W = 0] = shape;
  if (shape.length !== 4 || B !== 1 || image.data.length !== C * H * W) {
    throw new Error(`a gradient attribution explains one image [1, C, H, W], got shape [${image.shape.join(', ')}]`);
  }
  return [C, H, W];
}

/** The image's [C, H, W], refused unless the model takes that shape. */
function modelImageShape(model: ImageClassifier, image: HostTensor): [number, number, number] {
  const shape = imageShape(image);
  if (shape.some((v, i) => v !== model.inputShape[i])) {
    throw new Error(`image [${shape.join(', ')}] does not fit the model, which takes [${model.inputShape.join(', ')}]`);
  }
  return shape;
}

function gridOf(model: ImageClassifier, grid: [number, number] | undefined, H: number, W: number): [number, number] {
  const g = grid ?? model.grid;
  const [gh, gw] = g;
  if (!Number.isInteger(gh) || !Number.isInteger(gw) || gh < 1 || gw < 1 || gh > H || gw > W) {
    throw new Error(`grid ${gh}x${gw} must be whole numbers from 1 to the image's ${H}x${W}`);
  }
  return [gh, gw];
}

function baselineOf(image: HostTensor, options: IntegratedGradientsOptions): Float32Array {
  const baseline = options.baseline ?? INTEGRATED_GRADIENTS_DEFAULTS.baseline;
  if (baseline === 'zero') return new Float32Array(image.data.length);
  if (baseline === 'blur') return gaussianBlurImage(image, options.blurSigma ?? INTEGRATED_GRADIENTS_DEFAULTS.blurSigma).data;
  throw new Error(`unknown baseline "${baseline as string}" (one of ${IG_BASELINES.join(', ')})`);
}

function stepsOf(options: IntegratedGradientsOptions): number {
  const steps = options.steps ?? INTEGRATED_GRADIENTS_DEFAULTS.steps;
  checkCount('steps', steps, (options.rule ?? INTEGRATED_GRADIENTS_DEFAULTS.rule) === 'gauss-legendre' ? 1 : 2);
  return steps;
}

function samplesOf(options: SmoothGradOptions): number {
  const samples = options.samples ?? SMOOTHGRAD_DEFAULTS.samples;
  checkCount('samples', samples, 1);
  return samples;
}

function checkCount(name: string, value: number, least: number): void {
  if (!Number.isInteger(value) || value < least) throw new Error(`${name} must be a whole number >= ${least}, got ${value}`);
}
