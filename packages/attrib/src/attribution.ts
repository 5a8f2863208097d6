/** Methods that only query v(S): they work on any CoalitionGame. */
export const COALITION_METHODS = [
  'moxi-insertion',
  'moxi-deletion',
  'shapley-self',
  'shapley-full',
  'shapley-exact',
  'shapley-sampling',
  'kernel-shap',
  'lime',
  'interaction-self',
  'interaction-full',
] as const;

/** Methods that look inside the model (gradients, attention maps). */
export const MODEL_METHODS = ['gradcam', 'rollout'] as const;

export const METHODS = [...COALITION_METHODS, ...MODEL_METHODS] as const;

export type CoalitionMethodName = (typeof COALITION_METHODS)[number];
export type ModelMethodName = (typeof MODEL_METHODS)[number];
export type MethodName = (typeof METHODS)[number];

export function isCoalitionMethod(m: MethodName): m is CoalitionMethodName {
  return (COALITION_METHODS as readonly string[]).includes(m);
}

/**
 * What every method returns (docs/players-and-masking.md: players, row-major): one score per player, row-major over the player
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
  /** MoXI: whether the stop rule held at all (insertion: the prediction became the target; deletion: it changed). */
  stopHeld?: boolean;
  /** Coalitions evaluated (black-box methods) or forward passes run (gradcam, rollout). */
  evaluations: number;
}
