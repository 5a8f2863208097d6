import type { CoalitionGame, CoalitionValues } from '../src/game.ts';
import { SeededRandom } from '../src/random.ts';

/**
 * A game given by a formula, standing in for a model: exact Shapley values, interactions
 * and greedy orders can be worked out by hand. top1 says which class "the model" would
 * predict on a coalition (target 0 unless stated), for MoXI's stop rule.
 */
export class AnalyticGame implements CoalitionGame {
  evaluations = 0;
  readonly target = 0;

  constructor(
    readonly players: number,
    private readonly value: (s: Set<number>) => number,
    private readonly top1: (s: Set<number>) => number = () => 0,
    private readonly probability: (s: Set<number>) => number = () => 1,
  ) {}

  async evaluate(coalitions: ReadonlyArray<ReadonlyArray<number>>): Promise<CoalitionValues> {
    this.evaluations += coalitions.length;
    const sets = coalitions.map((c) => new Set(c));
    return {
      rewards: Float64Array.from(sets.map(this.value)),
      top1: Int32Array.from(sets.map(this.top1)),
      targetProbability: Float64Array.from(sets.map(this.probability)),
    };
  }
}

/** v(S) = sum of a_i over S. */
export const additive = (a: number[]) => new AnalyticGame(a.length, (s) => a.reduce((t, ai, i) => t + (s.has(i) ? ai : 0), 0));

/** Players 0 and 1 worth 3 only together (AND); 2 worth 1; 3 worth 0.5. */
export const andPair = () => new AnalyticGame(4, (s) => 3 * Number(s.has(0) && s.has(1)) + Number(s.has(2)) + 0.5 * Number(s.has(3)));

/**
 * Players 0 and 1 redundant (either gives 2, both still 2: the duplicated digit of
 * SET-SUM); 2 worth 1. "The model" predicts the target once v reaches 3.
 */
export const orPair = () =>
  new AnalyticGame(
    3,
    (s) => 2 * Number(s.has(0) || s.has(1)) + Number(s.has(2)),
    (s) => (2 * Number(s.has(0) || s.has(1)) + Number(s.has(2)) >= 3 ? 0 : 1),
  );

/** A game with an arbitrary value on every coalition (seeded): no structure for a fit to lean on. */
export function arbitraryGame(players: number, seed: number): AnalyticGame {
  const random = new SeededRandom(seed);
  const table = Array.from({ length: 2 ** players }, () => random.next() * 10 - 5);
  return new AnalyticGame(players, (s) => table[[...s].reduce((m, i) => m + 2 ** i, 0)]!);
}

/** Gauss-Jordan on an augmented float64 matrix [A | b], partial pivoting: the tests' own solver for reference fits. */
export function solveAugmented(M: number[][]): number[] {
  const n = M.length;
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r]![col]!) > Math.abs(M[p]![col]!)) p = r;
    [M[col], M[p]] = [M[p]!, M[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = M[r]![col]! / M[col]![col]!;
      for (let k = col; k <= n; k++) M[r]![k]! -= f * M[col]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}
