/**
 * One line of a data-set evaluation (`moxi evaluate`, docs/evaluation.md): the curves of
 * one method on one image under one perturbation. Lines are written as JSON, one per line,
 * to `records-<shard>.jsonl`; the report merges every shard's lines.
 */

/** The methods a data-set evaluation compares; `random` is a seeded random order, the floor. */
export const EVALUATION_METHODS = ['moxi', 'shapley-self', 'shapley-full', 'shapley-sampling', 'gradcam', 'rollout', 'random'] as const;
export type EvaluationMethod = (typeof EVALUATION_METHODS)[number];

/** `mask` removes patches; the others replace the first j patches by perturbed pixels (deletion only). */
export const PERTURBATIONS = ['gaussian-noise', 'fog', 'pgd'] as const;
export type Perturbation = (typeof PERTURBATIONS)[number];
export type CurvePerturbation = 'mask' | Perturbation;

/** A curve over j = 0..N patches inserted or deleted: N + 1 points. */
export interface RecordCurve {
  /** 1 where the top-1 class is the label, else 0. */
  correct: number[];
  /** Softmax probability of the label. */
  probability: number[];
}

export interface EvaluationRecord {
  /** Path of the image relative to the data set (as listed in a CSV). */
  image: string;
  label: number;
  /** The model's class on the full image (equal to the label: only correct images are chosen). */
  predicted: number;
  method: EvaluationMethod;
  perturbation: CurvePerturbation;
  players: number;
  /** Patches in the order the insertion curve adds them. */
  insertionOrder: number[];
  /** Patches in the order the deletion curve removes (or perturbs) them. */
  deletionOrder: number[];
  /** Only for `mask`. */
  insertion?: RecordCurve;
  deletion: RecordCurve;
  /** PGD only: the L2 norm of the perturbation on each patch, in deletion order. */
  perturbationNorms?: number[];
  /** Cost of the explanation: coalitions evaluated, or forward/backward passes (gradcam, rollout). */
  evaluations: number;
  /** Wall time of the explanation, per image (a batch's time divided by its images). */
  seconds: number;
}

/** An image that could not be read or classified: counted in the report, never retried. */
export interface EvaluationErrorRecord {
  image: string;
  label: number;
  error: string;
}

export type EvaluationLine = EvaluationRecord | EvaluationErrorRecord;

export function isErrorRecord(line: EvaluationLine): line is EvaluationErrorRecord {
  return 'error' in line;
}

/** What identifies a line: a rerun never writes the same key twice. */
export function recordKey(line: EvaluationLine): string {
  return isErrorRecord(line) ? `${line.image}\u0000error` : `${line.image}\u0000${line.method}\u0000${line.perturbation}`;
}
