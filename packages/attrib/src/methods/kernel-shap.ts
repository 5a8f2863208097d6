import { OptionError } from '@moxi/kernels';
import type { ExplainOptionName } from '../explain-options.ts';
import { allPlayers, type CoalitionGame } from '../game.ts';
import { SeededRandom } from '../random.ts';
import { solveLinear } from './linear-solve.ts';
import { DEFAULT_MAX_EVALUATIONS, evaluateInChunks } from './shapley.ts';

/**
 * KernelSHAP (Lundberg and Lee, 2017) over the game's players: the Shapley values as the
 * solution of a weighted least-squares fit of v(S) - v({}) by sum_{i in S} phi_i over
 * coalitions S, each weighted by the Shapley kernel
 *   pi(s) = (N - 1) / (C(N, s) s (N - s)),  s = |S|, 0 < s < N,
 * under the efficiency constraint sum_i phi_i = v(N) - v({}) (enforced exactly, by
 * eliminating the last player, as the SHAP package does).
 *
 * With every coalition (2^N - 2 besides the empty and the full one) the fit is exact: the
 * solution is the Shapley value. With `samples` < 2^N - 2, that many distinct coalitions are
 * drawn (seeded): a size s with probability proportional to the kernel's mass at that size,
 * C(N, s) pi(s) = (N - 1) / (s (N - s)), then a uniform coalition of that size, again until
 * it is new; since the draw already follows the kernel, each drawn coalition has weight 1.
 */
export interface KernelShapOptions {
  /** Coalitions besides the empty and the full one; default (or >= 2^N - 2): all of them. */
  samples?: number;
  seed?: number;
  /** Refuses more evaluations than this (the exact fit on many players). */
  maxEvaluations?: number;
}

export interface KernelShapFit {
  phi: number[];
  /** The coalitions fitted (player lists) and their weights: what a reference needs to redo the fit. */
  coalitions: number[][];
  weights: number[];
  /** v of each fitted coalition, and of the empty and full coalition. */
  values: number[];
  empty: number;
  full: number;
}

/** Coalitions KernelSHAP evaluates on N players with `samples` (the empty and full coalition included). */
export function kernelShapEvaluations(players: number, samples?: number): number {
  const proper = 2 ** players - 2;
  return 2 + (samples === undefined || samples >= proper ? proper : samples);
}

export async function kernelShap(game: CoalitionGame, options: KernelShapOptions = {}): Promise<KernelShapFit> {
  const N = game.players;
  if (N < 2) throw new OptionError('grid', `KernelSHAP needs at least 2 players, got ${N}`);
  const maxEvaluations = options.maxEvaluations ?? DEFAULT_MAX_EVALUATIONS;
  const planned = kernelShapEvaluations(N, options.samples);
  if (planned > maxEvaluations) {
    throw new OptionError('maxEvaluations', `KernelSHAP on ${N} players with ${options.samples === undefined ? 'every coalition' : `${options.samples} samples`} needs ${planned.toLocaleString('en-US')} evaluations, over maxEvaluations ${maxEvaluations.toLocaleString('en-US')}; give {samples} below it`);
  }
  const exact = planned === 2 ** N;
  const coalitions = exact ? everyProperCoalition(N) : sampledCoalitions(N, planned - 2, options.seed ?? 0);
  const weights = coalitions.map((c) => (exact ? shapleyKernel(N, c.length) : 1));
  const [empty, full] = (await game.evaluate([[], allPlayers(N)])).rewards;
  const values = await evaluateInChunks(game, coalitions);
  const phi = constrainedFit(N, coalitions, weights, values, empty!, full!);
  return { phi, coalitions, weights, values, empty: empty!, full: full! };
}

/** pi(s) = (N - 1) / (C(N, s) s (N - s)). */
export function shapleyKernel(N: number, s: number): number {
  return (N - 1) / (binomial(N, s) * s * (N - s));
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let j = 1; j <= k; j++) c = (c * (n - k + j)) / j;
  return c;
}

function everyProperCoalition(N: number): number[][] {
  const out: number[][] = [];
  for (let m = 1; m < 2 ** N - 1; m++) out.push(allPlayers(N).filter((i) => Math.floor(m / 2 ** i) % 2 === 1));
  return out;
}

function sampledCoalitions(N: number, count: number, seed: number): number[][] {
  const random = new SeededRandom(seed);
  const mass = Array.from({ length: N - 1 }, (_, k) => (N - 1) / ((k + 1) * (N - k - 1)));
  const total = mass.reduce((a, b) => a + b, 0);
  const seen = new Set<string>();
  const perSize = new Array<number>(N).fill(0);
  const out: number[][] = [];
  while (out.length < count) {
    let u = random.next() * total;
    let s = 1;
    while (s < N - 1 && u >= mass[s - 1]!) u -= mass[s++ - 1]!;
    if (perSize[s]! >= binomial(N, s)) continue; // every coalition of this size is drawn already
    const coalition = random.permutation(N).slice(0, s).sort((a, b) => a - b);
    const key = coalition.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    perSize[s]! += 1;
    out.push(coalition);
  }
  return out;
}

/**
 * min sum_S w_S (v(S) - v0 - sum_{i in S} phi_i)^2 subject to sum_i phi_i = vN - v0: with
 * phi_{N-1} = (vN - v0) - sum_{i < N-1} phi_i, an unconstrained weighted least squares in
 * N - 1 unknowns, solved from its normal equations in float64.
 */
function constrainedFit(N: number, coalitions: readonly number[][], weights: readonly number[], values: readonly number[], v0: number, vN: number): number[] {
  const M = N - 1;
  const A = Array.from({ length: M }, () => new Float64Array(M));
  const b = new Float64Array(M);
  const x = new Float64Array(M);
  coalitions.forEach((c, k) => {
    const hasLast = c.includes(N - 1) ? 1 : 0;
    x.fill(-hasLast);
    for (const i of c) if (i < M) x[i] = 1 - hasLast;
    const y = values[k]! - v0 - hasLast * (vN - v0);
    const w = weights[k]!;
    for (let i = 0; i < M; i++) {
      if (x[i] === 0) continue;
      b[i]! += w * x[i]! * y;
      for (let j = 0; j < M; j++) A[i]![j]! += w * x[i]! * x[j]!;
    }
  });
  const beta = solveLinear(A, b);
  if (!beta) throw new OptionError<ExplainOptionName>('samples', `KernelSHAP's fit is underdetermined with these {samples}: give more (at least the number of players)`);
  return [...beta, vN - v0 - beta.reduce((s, p) => s + p, 0)];
}
