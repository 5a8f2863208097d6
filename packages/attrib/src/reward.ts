import type { REWARD_KINDS } from './explain-options.ts';
/**
 * The reward v(S) read off a model's logits for one coalition (docs/rewards.md).
 * Computed in float64 from float32 logits with a stable log-sum-exp, never from a rounded
 * probability: log-odds of a confident class are large and must not saturate.
 */
export type RewardKind = (typeof REWARD_KINDS)[number];

export interface RewardSpec {
  kind: RewardKind;
  /** The class being explained. */
  target: number;
  /**
   * The paper's App. F contrast: the class predicted on the full image. When given and
   * different from target the reward is logodds_contrast - logodds_target instead.
   */
  contrast?: number;
}

/** log sum_{c in classes, c != skip} exp(z_c), stable. */
function logSumExp(z: ArrayLike<number>, skip: number): number {
  let max = -Infinity;
  for (let c = 0; c < z.length; c++) if (c !== skip) max = Math.max(max, z[c]!);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let c = 0; c < z.length; c++) if (c !== skip) sum += Math.exp(z[c]! - max);
  return max + Math.log(sum);
}

/** The top-1 class of one row of logits (ties: the lowest index). */
export function topClass(z: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < z.length; c++) if (z[c]! > z[best]!) best = c;
  return best;
}

/** log(p_y / (1 - p_y)) = z_y - logsumexp_{c != y} z_c. */
export function logOdds(z: ArrayLike<number>, y: number): number {
  return z[y]! - logSumExp(z, y);
}

/** log softmax_y. */
export function logProb(z: ArrayLike<number>, y: number): number {
  return z[y]! - logSumExp(z, -1);
}

export function reward(z: ArrayLike<number>, spec: RewardSpec): number {
  const { kind, target, contrast } = spec;
  if (contrast !== undefined && contrast !== target) {
    // Log-odds difference, not the supplement's odds-minus-log-odds: both terms on one scale.
    return logOdds(z, contrast) - logOdds(z, target);
  }
  if (kind === 'logodds') return logOdds(z, target);
  if (kind === 'logprob') return logProb(z, target);
  return z[target]!;
}

/** Rewards of every row of a [rows, classes] logits block. */
export function rewards(logits: Float32Array, classes: number, spec: RewardSpec): Float64Array {
  const rows = logits.length / classes;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = reward(logits.subarray(r * classes, (r + 1) * classes), spec);
  return out;
}
