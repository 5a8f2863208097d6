import { curveArea } from './curves.ts';
import {
  EVALUATION_METHODS,
  isErrorRecord,
  PERTURBATIONS,
  type CurvePerturbation,
  type EvaluationErrorRecord,
  type EvaluationLine,
  type EvaluationMethod,
  type RecordCurve,
} from './evaluation-record.ts';

/** Perturbations in report order: masking first (the only one with an insertion curve). */
export const REPORT_PERTURBATIONS: readonly CurvePerturbation[] = ['mask', ...PERTURBATIONS];

/** A curve averaged over images, at j = 0..N patches, with its areas (trapezoid over x = j / N). */
export interface MeanCurve {
  /** Share of images whose top-1 class is the label. */
  accuracy: number[];
  /** Mean softmax probability of the label. */
  probability: number[];
  accuracyAuc: number;
  probabilityAuc: number;
}

export interface EvaluationSummaryRow {
  method: EvaluationMethod;
  perturbation: CurvePerturbation;
  images: number;
  /** Only for `mask`. */
  insertion?: MeanCurve;
  deletion: MeanCurve;
  /** PGD only: the mean L2 norm of the perturbation on the patch at deletion rank 1..N (N numbers). */
  perturbationNorms?: number[];
  /** Mean cost per image: coalitions evaluated, or forward/backward passes. */
  evaluations: number;
  /** Mean wall time of the explanation per image. */
  seconds: number;
}

export interface EvaluationSummary {
  model: string;
  /** Players (patches) per image: every record of one evaluation has the same N. */
  players: number;
  /** Distinct images with at least one record. */
  images: number;
  /** Rows in `EVALUATION_METHODS` order, each method's perturbations in `REPORT_PERTURBATIONS` order. */
  rows: EvaluationSummaryRow[];
  /** Images that could not be read or classified. */
  errors: EvaluationErrorRecord[];
}

/** Two records of one evaluation disagree on the number of players (mixed grids or models). */
export class PlayerCountMismatchError extends Error {
  override readonly name = 'PlayerCountMismatchError';
  constructor(
    readonly first: { image: string; players: number },
    readonly other: { image: string; players: number },
  ) {
    super(`records disagree on the number of players: ${first.image} has ${first.players}, ${other.image} has ${other.players}`);
  }
}

/**
 * Merges the lines of one evaluation (already deduplicated by `recordKey`) into mean curves
 * and their areas per method and perturbation (the paper's Sec. 5 and App. G protocol).
 */
export function summarizeEvaluation(model: string, lines: Iterable<EvaluationLine>): EvaluationSummary {
  const summarizer = new EvaluationSummarizer();
  for (const line of lines) summarizer.add(line);
  return summarizer.summary(model);
}

/** Running sums of one method x perturbation. */
interface GroupSums {
  images: number;
  insertion?: CurveSums;
  deletion: CurveSums;
  /** Records with norms (PGD) and their sum per deletion rank. */
  norms?: { count: number; sum: number[] };
  evaluations: number;
  seconds: number;
}

interface CurveSums {
  count: number;
  correct: number[];
  probability: number[];
}

/**
 * `summarizeEvaluation` one line at a time: keeps sums, not records, so a report over
 * millions of lines streams them from disk in memory proportional to methods x players.
 */
export class EvaluationSummarizer {
  private readonly groups = new Map<string, GroupSums>();
  private readonly images = new Set<string>();
  private readonly errors: EvaluationErrorRecord[] = [];
  private first: { image: string; players: number } | undefined;

  add(line: EvaluationLine): void {
    if (isErrorRecord(line)) {
      this.errors.push(line);
      return;
    }
    this.first ??= { image: line.image, players: line.players };
    if (line.players !== this.first.players) throw new PlayerCountMismatchError(this.first, { image: line.image, players: line.players });
    this.images.add(line.image);
    const key = `${line.method}\u0000${line.perturbation}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { images: 0, deletion: emptyCurveSums(line.players), evaluations: 0, seconds: 0 };
      this.groups.set(key, group);
    }
    group.images += 1;
    group.evaluations += line.evaluations;
    group.seconds += line.seconds;
    addCurve(group.deletion, line.deletion);
    if (line.perturbation === 'mask' && line.insertion) addCurve((group.insertion ??= emptyCurveSums(line.players)), line.insertion);
    if (line.perturbation === 'pgd' && line.perturbationNorms) {
      group.norms ??= { count: 0, sum: new Array<number>(line.players).fill(0) };
      group.norms.count += 1;
      line.perturbationNorms.forEach((v, i) => (group.norms!.sum[i]! += v));
    }
  }

  summary(model: string): EvaluationSummary {
    const rows: EvaluationSummaryRow[] = [];
    for (const method of EVALUATION_METHODS) {
      for (const perturbation of REPORT_PERTURBATIONS) {
        const group = this.groups.get(`${method}\u0000${perturbation}`);
        if (!group) continue;
        rows.push({
          method,
          perturbation,
          images: group.images,
          ...(group.insertion ? { insertion: meanCurve(group.insertion) } : {}),
          deletion: meanCurve(group.deletion),
          ...(group.norms ? { perturbationNorms: group.norms.sum.map((v) => v / group.norms!.count) } : {}),
          evaluations: group.evaluations / group.images,
          seconds: group.seconds / group.images,
        });
      }
    }
    return { model, players: this.first?.players ?? 0, images: this.images.size, rows, errors: [...this.errors] };
  }
}

function emptyCurveSums(players: number): CurveSums {
  return { count: 0, correct: new Array<number>(players + 1).fill(0), probability: new Array<number>(players + 1).fill(0) };
}

function addCurve(sums: CurveSums, curve: RecordCurve): void {
  sums.count += 1;
  curve.correct.forEach((v, j) => (sums.correct[j]! += v));
  curve.probability.forEach((v, j) => (sums.probability[j]! += v));
}

function meanCurve(sums: CurveSums): MeanCurve {
  const accuracy = sums.correct.map((v) => v / sums.count);
  const probability = sums.probability.map((v) => v / sums.count);
  return { accuracy, probability, accuracyAuc: curveArea(accuracy), probabilityAuc: curveArea(probability) };
}
