import { allPlayers, type CoalitionGame } from '../game.ts';
import { SeededRandom } from '../random.ts';
import { solveLinear } from './linear-solve.ts';
import { evaluateInChunks } from './shapley.ts';

/**
 * LIME (Ribeiro et al., 2016) over the game's players, with lime_image's defaults: `samples`
 * coalitions, the first the full one and each other keeping every player with probability
 * 1/2 (seeded); each weighted by the exponential kernel sqrt(exp(-d^2 / width^2)) on the
 * cosine distance d between the coalition's 0/1 vector and the all-ones vector (d = 1 for the
 * empty coalition, as scikit-learn's cosine distance gives), width 0.25; a ridge regression
 * (penalty 1 on the coefficients, intercept free) of v(S) on the 0/1 vectors. The scores are
 * the coefficients. v is the game's reward (log-odds by default), where LIME fits the
 * class probability.
 */
export interface LimeOptions {
  samples?: number;
  seed?: number;
}

export interface LimeFit {
  scores: number[];
  intercept: number;
  coalitions: number[][];
  weights: number[];
  values: number[];
}

/** lime_image's num_samples. */
export const LIME_DEFAULT_SAMPLES = 1000;
/** lime_image's kernel_width. */
export const LIME_KERNEL_WIDTH = 0.25;
/** scikit-learn Ridge's alpha, LIME's default regressor. */
export const LIME_RIDGE_ALPHA = 1;

export async function lime(game: CoalitionGame, options: LimeOptions = {}): Promise<LimeFit> {
  const N = game.players;
  const samples = options.samples ?? LIME_DEFAULT_SAMPLES;
  const random = new SeededRandom(options.seed ?? 0);
  const coalitions = [allPlayers(N), ...Array.from({ length: samples - 1 }, () => allPlayers(N).filter(() => random.next() < 0.5))];
  const weights = coalitions.map((c) => limeKernel(N, c.length));
  const values = await evaluateInChunks(game, coalitions);
  const { coefficients, intercept } = weightedRidge(N, coalitions, weights, values, LIME_RIDGE_ALPHA);
  return { scores: coefficients, intercept, coalitions, weights, values };
}

/** sqrt(exp(-d^2 / width^2)), d the cosine distance of a coalition of `size` of N players to all N: 1 - sqrt(size / N). */
export function limeKernel(N: number, size: number): number {
  const d = 1 - Math.sqrt(size / N);
  return Math.sqrt(Math.exp(-(d * d) / (LIME_KERNEL_WIDTH * LIME_KERNEL_WIDTH)));
}

/**
 * min sum_k w_k (y_k - b - z_k . beta)^2 + alpha |beta|^2 with the intercept b free: the
 * 0/1 vectors and values centred on their weighted means, then the normal equations
 * (Z^T W Z + alpha I) beta = Z^T W y in float64 (scikit-learn's Ridge with sample weights).
 */
function weightedRidge(N: number, coalitions: readonly number[][], weights: readonly number[], values: readonly number[], alpha: number): { coefficients: number[]; intercept: number } {
  const total = weights.reduce((a, b) => a + b, 0);
  const zMean = new Float64Array(N);
  let yMean = 0;
  coalitions.forEach((c, k) => {
    for (const i of c) zMean[i]! += weights[k]! / total;
    yMean += (weights[k]! * values[k]!) / total;
  });
  const A = Array.from({ length: N }, (_, i) => Float64Array.from({ length: N }, (_, j) => (i === j ? alpha : 0)));
  const b = new Float64Array(N);
  const z = new Float64Array(N);
  coalitions.forEach((c, k) => {
    for (let i = 0; i < N; i++) z[i] = -zMean[i]!;
    for (const i of c) z[i]! += 1;
    const y = values[k]! - yMean;
    const w = weights[k]!;
    for (let i = 0; i < N; i++) {
      b[i]! += w * z[i]! * y;
      for (let j = 0; j < N; j++) A[i]![j]! += w * z[i]! * z[j]!;
    }
  });
  // The ridge term (alpha > 0) keeps the system regular.
  const coefficients = solveLinear(A, b)!;
  return { coefficients, intercept: yMean - coefficients.reduce((s, beta, i) => s + beta * zMean[i]!, 0) };
}
