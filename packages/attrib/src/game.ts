/**
 * A cooperative game over image patches: v(S) for coalitions S of players (patches or
 * groups of patches). Every black-box method (MoXI, Shapley values, interactions) talks
 * to a model only through this interface, so analytic games can stand in for models in
 * tests.
 */
export interface CoalitionValues {
  /** v(S) for each coalition, in the order asked. */
  rewards: Float64Array;
  /** The model's top-1 class on each coalition (for MoXI's stop rule). */
  top1: Int32Array;
  /** Softmax probability of the target class on each coalition. */
  targetProbability: Float64Array;
}

export interface CoalitionGame {
  readonly players: number;
  /** The class whose evidence the game measures. */
  readonly target: number;
  /** Coalitions evaluated so far (the cost the paper counts in forward passes). */
  readonly evaluations: number;
  /** Values of many coalitions (player indices, any order) in one call. */
  evaluate(coalitions: ReadonlyArray<ReadonlyArray<number>>): Promise<CoalitionValues>;
}

/** Players 0..n-1. */
export function allPlayers(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The players not in `coalition`, ascending. */
export function complement(n: number, coalition: Iterable<number>): number[] {
  const out = new Set(coalition);
  return allPlayers(n).filter((p) => !out.has(p));
}
