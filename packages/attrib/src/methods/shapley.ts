import { numberDefault } from '../explain-options.ts';
import { OptionError } from '@moxi/kernels';
import { allPlayers, complement, type CoalitionGame } from '../game.ts';
import type { PlannedCall } from './run-method.ts';

/** phi_self(i) = v({i}) - v({}): each player alone (N + 1 evaluations). */
export async function shapleySelf(game: CoalitionGame): Promise<number[]> {
  const N = game.players;
  const v = (await game.evaluate([[], ...allPlayers(N).map((i) => [i])])).rewards;
  return allPlayers(N).map((i) => v[i + 1]! - v[0]!);
}

/** phi_full(i) = v(N) - v(N - {i}): each player's loss from the full image (N + 1 evaluations). */
export async function shapleyFull(game: CoalitionGame): Promise<number[]> {
  const N = game.players;
  const v = (await game.evaluate([allPlayers(N), ...allPlayers(N).map((i) => complement(N, [i]))])).rewards;
  return allPlayers(N).map((i) => v[0]! - v[i + 1]!);
}

/** The coalition budget when none is given (the option table's default). */
export const DEFAULT_MAX_EVALUATIONS = numberDefault('maxEvaluations');

/** 2^N for N players: "2^12 = 4,096", or just "2^196" once the decimal would be rounded. */
function formatCoalitionCount(N: number): string {
  return 2 ** N <= Number.MAX_SAFE_INTEGER ? `2^${N} = ${(2 ** N).toLocaleString('en-US')}` : `2^${N}`;
}

/** Coalitions per evaluate() call of shapley-exact. */
export const EXACT_BATCH = 4096;

/** `rows` coalitions sent EXACT_BATCH per evaluate() call, none larger than `largest`. */
export function chunkedCalls(rows: number, largest: number): PlannedCall[] {
  return Array.from({ length: Math.ceil(rows / EXACT_BATCH) }, (_, k) => ({ rows: Math.min(EXACT_BATCH, rows - k * EXACT_BATCH), largest }));
}

/**
 * v of every coalition listed (or another per-coalition value: RISE reads the target's
 * probability), EXACT_BATCH per evaluate() call (KernelSHAP's and LIME's fits, RISE).
 */
export async function evaluateInChunks(game: CoalitionGame, coalitions: ReadonlyArray<ReadonlyArray<number>>, field: 'rewards' | 'targetProbability' = 'rewards'): Promise<number[]> {
  const values: number[] = [];
  for (let start = 0; start < coalitions.length; start += EXACT_BATCH) values.push(...(await game.evaluate(coalitions.slice(start, start + EXACT_BATCH)))[field]);
  return values;
}

/**
 * The Shapley formula over all 2^N coalitions:
 *   phi_i = sum_{S not containing i} |S|! (N - |S| - 1)! / N! (v(S + i) - v(S)).
 * Refused when 2^N exceeds maxEvaluations.
 */
export async function shapleyExact(game: CoalitionGame, maxEvaluations = DEFAULT_MAX_EVALUATIONS): Promise<number[]> {
  const N = game.players;
  const count = 2 ** N;
  if (count > maxEvaluations) {
    throw new OptionError(
      'maxEvaluations',
      `shapley-exact on ${N} players needs ${formatCoalitionCount(N)} evaluations, over maxEvaluations ${maxEvaluations.toLocaleString('en-US')}; ` +
        'use a coarser grid, raise maxEvaluations, or use shapley-sampling',
    );
  }
  const v = new Float64Array(count);
  for (let start = 0; start < count; start += EXACT_BATCH) {
    const masks = Array.from({ length: Math.min(EXACT_BATCH, count - start) }, (_, k) => start + k);
    const rewards = (await game.evaluate(masks.map((m) => allPlayers(N).filter((i) => (m >> i) & 1)))).rewards;
    v.set(rewards, start);
  }
  // weight[s] = s! (N - s - 1)! / N!, built as a product to stay finite for large N.
  const weight = new Float64Array(N);
  for (let s = 0; s < N; s++) {
    let w = 1 / N;
    for (let k = 1; k <= s; k++) w *= k / (N - k);
    weight[s] = w;
  }
  const size = new Uint8Array(count);
  for (let m = 1; m < count; m++) size[m] = size[m >> 1]! + (m & 1);
  const phi = new Array<number>(N).fill(0);
  for (let m = 0; m < count; m++) {
    for (let i = 0; i < N; i++) {
      if ((m >> i) & 1) continue;
      phi[i]! += weight[size[m]!]! * (v[m | (1 << i)]! - v[m]!);
    }
  }
  return phi;
}
