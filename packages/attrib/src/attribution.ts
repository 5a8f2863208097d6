export const METHODS = [
  'moxi-insertion',
  'moxi-deletion',
  'shapley-self',
  'shapley-full',
  'shapley-exact',
  'shapley-sampling',
  'interaction-self',
  'interaction-full',
] as const;

export type MethodName = (typeof METHODS)[number];

/**
 * What every method returns (DESIGN.md): one score per player, row-major over the player
 * grid, plus what the method has beyond that.
 */
export interface Attribution {
  method: MethodName;
  target: number;
  grid: [number, number];
  scores: number[];
  /** MoXI: players in the order chosen (all of them with --stop full). */
  order?: number[];
  /** MoXI: v after each step (the coalition with the first t players inserted / removed). */
  rewards?: number[];
  /** N x N, symmetric, zero diagonal. */
  interactions?: number[][];
  /** MoXI: 1-based step at which the stop rule first held (N when it never did). */
  stopStep?: number;
  evaluations: number;
}
