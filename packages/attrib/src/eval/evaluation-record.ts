/**
 * One line of a data-set evaluation (`moxi evaluate`, docs/evaluation.md): the curves of
 * one method on one image under one perturbation. Lines are written as JSON, one per line,
 * to `records-<shard>.jsonl`; the report merges every shard's lines.
 */

/**
 * The methods a data-set evaluation compares: the paper's, then the baselines people compare
 * MoXI with; `random` is a seeded random order, the floor.
 */
export const EVALUATION_METHODS = ['moxi', 'shapley-self', 'shapley-full', 'shapley-sampling', 'kernel-shap', 'lime', 'rise-players', 'rise', 'gradcam', 'integrated-gradients', 'smoothgrad', 'input-x-gradient', 'rollout', 'chefer', 'random'] as const;
export type EvaluationMethod = (typeof EVALUATION_METHODS)[number];

/** What `moxi evaluate` runs when --methods is left out: the paper's comparison (rollout on ViTs only). */
export const PAPER_EVALUATION_METHODS: readonly EvaluationMethod[] = ['moxi', 'shapley-self', 'shapley-full', 'shapley-sampling', 'gradcam', 'rollout', 'random'];

/** Perturbations replace the first j patches by perturbed pixels (deletion curves only). */
export const PERTURBATIONS = ['gaussian-noise', 'fog', 'pgd'] as const;
export type Perturbation = (typeof PERTURBATIONS)[number];

/** Every kind of curve a record holds: `mask` removes patches (insertion and deletion), then the perturbations. */
export const CURVE_KINDS = ['mask', ...PERTURBATIONS] as const;
export type CurvePerturbation = (typeof CURVE_KINDS)[number];

/** The curve kinds a run with these perturbations writes per (image, method): always `mask` first. */
export function curveKindsOf(perturbations: readonly Perturbation[]): CurvePerturbation[] {
  return CURVE_KINDS.filter((kind) => kind === 'mask' || perturbations.includes(kind));
}

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
  /** Cost of the explanation: coalitions evaluated, or images passed through the model (gradcam, rollout, chefer, rise). */
  evaluations: number;
  /** Wall time of this image's explanation (images are explained one at a time; the curves are not included). */
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

/** The fields of a record and of an error record, in the order lines are written (docs/evaluation.md lists them). */
export const RECORD_FIELDS = [
  'image',
  'label',
  'predicted',
  'method',
  'perturbation',
  'players',
  'insertionOrder',
  'deletionOrder',
  'insertion',
  'deletion',
  'perturbationNorms',
  'evaluations',
  'seconds',
] as const satisfies ReadonlyArray<keyof EvaluationRecord>;
export const ERROR_RECORD_FIELDS = ['image', 'label', 'error'] as const satisfies ReadonlyArray<keyof EvaluationErrorRecord>;

/** What identifies a line: a rerun never writes the same key twice. */
export function recordKey(line: EvaluationLine): string {
  return isErrorRecord(line) ? errorKey(line.image) : curveKey(line.image, line.method, line.perturbation);
}

/** The key of the record of one image, method and curve kind. */
export function curveKey(image: string, method: EvaluationMethod, kind: CurvePerturbation): string {
  return `${image}\u0000${method}\u0000${kind}`;
}

/** The key of an image's error record. */
export function errorKey(image: string): string {
  return `${image}\u0000error`;
}

/**
 * The one question a resumed or extended run asks of the lines already written (`has`
 * tells whether a key is there): which of `methods` still lack a record of some curve kind
 * for this image. Only those are computed, and only their missing lines written.
 */
export function missingMethods(has: (key: string) => boolean, image: string, methods: readonly EvaluationMethod[], kinds: readonly CurvePerturbation[]): EvaluationMethod[] {
  return methods.filter((method) => kinds.some((kind) => !has(curveKey(image, method, kind))));
}

/**
 * Why a parsed JSON value is not an `EvaluationLine` (undefined when it is one): the
 * record's fields with their types and lengths (curves N + 1 points, PGD norms N values).
 */
export function evaluationLineProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a JSON object';
  const r = value as Record<string, unknown>;
  if (typeof r.image !== 'string' || r.image === '') return 'has no "image" path';
  if (!Number.isInteger(r.label)) return `"label" of ${r.image} is not an integer`;
  if ('error' in r) return typeof r.error === 'string' ? undefined : `"error" of ${r.image} is not a string`;
  if (!Number.isInteger(r.predicted)) return `"predicted" of ${r.image} is not an integer`;
  if (!(EVALUATION_METHODS as readonly unknown[]).includes(r.method)) return `"method" ${JSON.stringify(r.method)} is not one of ${EVALUATION_METHODS.join(', ')}`;
  if (!(CURVE_KINDS as readonly unknown[]).includes(r.perturbation)) return `"perturbation" ${JSON.stringify(r.perturbation)} is not one of ${CURVE_KINDS.join(', ')}`;
  const players = r.players;
  if (typeof players !== 'number' || !Number.isInteger(players) || players < 1) return `"players" of ${r.image} is not a positive integer`;
  for (const name of ['evaluations', 'seconds']) {
    const v = r[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return `"${name}" of ${r.image} is not a non-negative number`;
  }
  for (const name of ['insertionOrder', 'deletionOrder']) {
    if (!Array.isArray(r[name]) || !(r[name] as unknown[]).every((p) => Number.isInteger(p) && (p as number) >= 0 && (p as number) < players)) return `"${name}" of ${r.image} is not a list of players 0..${players - 1}`;
  }
  if (r.perturbation === 'mask' && r.insertion === undefined) return `the mask record of ${r.image} has no "insertion" curve`;
  for (const name of ['insertion', 'deletion']) {
    if (name === 'insertion' && r.insertion === undefined) continue;
    const curve = r[name] as Record<string, unknown> | undefined;
    for (const series of ['correct', 'probability']) {
      if (!isNumbers(curve?.[series], players + 1)) return `"${name}.${series}" of ${r.image} is not ${players + 1} numbers (players + 1)`;
    }
  }
  if (r.perturbationNorms !== undefined && !isNumbers(r.perturbationNorms, players)) return `"perturbationNorms" of ${r.image} is not ${players} numbers (players)`;
  return undefined;
}

function isNumbers(value: unknown, length: number): boolean {
  return Array.isArray(value) && value.length === length && value.every((v) => typeof v === 'number' && Number.isFinite(v));
}
