/** Methods that only query v(S): they work on any CoalitionGame. */
export const COALITION_METHODS = [
  'moxi-insertion',
  'moxi-deletion',
  'shapley-self',
  'shapley-full',
  'shapley-exact',
  'shapley-sampling',
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

/** The options a method may take besides the game's target and players. */
export type MethodOptionName =
  | 'stop'
  | 'minConfidence'
  | 'samples'
  | 'sampler'
  | 'seed'
  | 'reward'
  | 'contrast'
  | 'maskMode'
  | 'augSmooth'
  | 'eigenSmooth'
  | 'headFusion'
  | 'discardRatio';

/**
 * Which methods each option means something for, and how to name them to a user: a
 * front-end refuses an option given to another method rather than ignoring it.
 */
export const METHOD_OPTIONS: Record<MethodOptionName, { appliesTo: (m: MethodName) => boolean; methods: string }> = {
  stop: { appliesTo: (m) => m === 'moxi-insertion' || m === 'moxi-deletion', methods: 'moxi-insertion and moxi-deletion' },
  minConfidence: { appliesTo: (m) => m === 'moxi-insertion', methods: 'moxi-insertion' },
  samples: { appliesTo: (m) => m === 'shapley-sampling', methods: 'shapley-sampling' },
  sampler: { appliesTo: (m) => m === 'shapley-sampling', methods: 'shapley-sampling' },
  seed: { appliesTo: (m) => m === 'shapley-sampling', methods: 'shapley-sampling' },
  reward: { appliesTo: isCoalitionMethod, methods: "the black-box methods (gradcam and rollout use the target logit's gradient or attention)" },
  contrast: { appliesTo: isCoalitionMethod, methods: 'the black-box methods' },
  maskMode: { appliesTo: isCoalitionMethod, methods: 'the black-box methods' },
  augSmooth: { appliesTo: (m) => m === 'gradcam', methods: 'gradcam' },
  eigenSmooth: { appliesTo: (m) => m === 'gradcam', methods: 'gradcam' },
  headFusion: { appliesTo: (m) => m === 'rollout', methods: 'rollout' },
  discardRatio: { appliesTo: (m) => m === 'rollout', methods: 'rollout' },
};

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
  /** MoXI: whether the stop rule held at all (insertion: the prediction became the target; deletion: it changed). */
  stopHeld?: boolean;
  /** Coalitions evaluated (black-box methods) or forward passes run (gradcam, rollout). */
  evaluations: number;
}
