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
  'rise-players',
  'interaction-self',
  'interaction-full',
  'shapley-interaction',
  'shapley-taylor',
] as const;

/** Methods that look inside the model (gradients, attention maps). */
export const MODEL_METHODS = ['gradcam', 'rollout', 'chefer', 'integrated-gradients', 'smoothgrad', 'input-x-gradient', 'rise'] as const;

export const METHODS = [...COALITION_METHODS, ...MODEL_METHODS] as const;

export type CoalitionMethodName = (typeof COALITION_METHODS)[number];
export type ModelMethodName = (typeof MODEL_METHODS)[number];
export type MethodName = (typeof METHODS)[number];

export function isCoalitionMethod(m: MethodName): m is CoalitionMethodName {
  return (COALITION_METHODS as readonly string[]).includes(m);
}

/** Methods that read a ViT's attention: they need a ViT and score its token grid (they take no grid). */
export const ATTENTION_METHODS: readonly MethodName[] = ['rollout', 'chefer'];

export function readsAttention(m: string): boolean {
  return (ATTENTION_METHODS as readonly string[]).includes(m);
}

/** Methods that run a backward pass (f16 models have none). */
export const GRADIENT_METHODS: readonly MethodName[] = ['gradcam', 'chefer', 'integrated-gradients', 'smoothgrad', 'input-x-gradient'];

export function needsGradients(m: string): boolean {
  return (GRADIENT_METHODS as readonly string[]).includes(m);
}

/** Why an attention method cannot explain a CNN, in the words every front-end uses. */
export function attentionRefusal(m: MethodName): string {
  return `${m === 'rollout' ? 'attention rollout' : 'Chefer relevance'} needs a ViT; a CNN has no attention to ${m === 'rollout' ? 'roll out' : 'propagate relevance through'}`;
}

/** What an explanation cost, in words: coalitions evaluated, or images through the model (forward only for rollout and RISE). */
export function workDone(a: Pick<Attribution, 'method' | 'evaluations'>): string {
  if (isCoalitionMethod(a.method)) return `${a.evaluations} coalitions evaluated`;
  const pass = needsGradients(a.method) ? 'forward/backward pass' : 'forward pass';
  return `${a.evaluations} ${pass}${a.evaluations === 1 ? '' : 'es'}`;
}

/** A group of players and its interaction index. */
export interface PlayerGroup {
  players: number[];
  value: number;
  standardError?: number;
}

/** The groups a front-end shows: the `count` largest by |value|, ties in their listed order. */
export function strongestGroups(groups: readonly PlayerGroup[], count = 6): PlayerGroup[] {
  return [...groups].sort((x, y) => Math.abs(y.value) - Math.abs(x.value)).slice(0, count);
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
  /** shapley-interaction, shapley-taylor: the index of each group of 2..order players computed (sampled ones with a standard error). */
  groups?: PlayerGroup[];
  /** MoXI: 1-based step at which the stop rule first held (N when it never did). */
  stopStep?: number;
  /** MoXI: whether the stop rule held at all (insertion: the prediction became the target; deletion: it changed). */
  stopHeld?: boolean;
  /** Coalitions evaluated (black-box methods) or images passed through the model (the others). */
  evaluations: number;
}
