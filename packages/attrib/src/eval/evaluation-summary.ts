import { bootstrapMeanBand, bootstrapResamples, quantile, wilsonBand, type Band } from './confidence-bands.ts';
import { curveArea } from './curves.ts';
import {
  EVALUATION_METHODS,
  isErrorRecord,
  CURVE_KINDS,
  type CurvePerturbation,
  type EvaluationErrorRecord,
  type EvaluationLine,
  type EvaluationMethod,
  type RecordCurve,
} from './evaluation-record.ts';

/** Perturbations in report order: masking first (the only one with an insertion curve). */
/** The report's curve kinds, in their order: the record's (CURVE_KINDS). */
export const REPORT_PERTURBATIONS: readonly CurvePerturbation[] = CURVE_KINDS;

export * from './confidence-bands.ts';

/** A curve averaged over images, at j = 0..N patches, with its areas (trapezoid over x = j / N) and 95% bands. */
export interface MeanCurve {
  /** Share of images whose top-1 class is the label. */
  accuracy: number[];
  /** Mean softmax probability of the label. */
  probability: number[];
  accuracyAuc: number;
  probabilityAuc: number;
  /** Images averaged. */
  images: number;
  /** 95% Wilson interval of the accuracy at each j. */
  accuracyBand: Band;
  /** 95% percentile bootstrap band of the mean probability at each j (images resampled, fixed seed: `BOOTSTRAP_SEED`). */
  probabilityBand: Band;
}

/** What `moxi evaluate` writes into shard-<i>-of-<n>.json as a shard runs: where it runs and how far it got. */
export interface ShardProgress {
  adapter?: string;
  /** The adapter is a software rasteriser (lavapipe, llvmpipe, SwiftShader). */
  software?: boolean;
  host?: string;
  /** Images selected for this shard. */
  images?: number;
  finished?: number;
  complete?: boolean;
  updatedAt?: string;
}

/** One shard of the run as the report shows it: its progress file, with what its records hold. */
export interface ShardReport extends ShardProgress {
  /** "i/n". */
  shard: string;
  /** Its records-<i>-of-<n>.jsonl exists. */
  records: boolean;
  /** Distinct images (error lines included) in its records file. */
  recordImages: number;
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
  /** Mean cost per image: coalitions evaluated, or images through the model. */
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
  /**
   * What the report does not cover or mixes, as plain sentences (missing shards, images not
   * reached, failed images, mixed settings or adapters); empty when nothing is wrong. Set by
   * the caller, which knows the run folder.
   */
  warnings: string[];
  /** Each shard's adapter and progress, when the run wrote them. */
  shards?: ShardReport[];
  /** What each method's explanation cost per image (the paper's Table 1), in `EVALUATION_METHODS` order. */
  runtime: RuntimeRow[];
}

/**
 * One method's cost per image, from its `mask` records (one per image; the perturbed
 * records repeat the same explanation's cost): each record's `seconds` is that image's own time.
 */
export interface RuntimeRow {
  method: EvaluationMethod;
  images: number;
  meanSeconds: number;
  medianSeconds: number;
  /** Coalitions evaluated (or images through the model) per image, mean. */
  evaluations: number;
  /** 1 / meanSeconds: images explained per second, one at a time (Infinity when no time was measured). */
  imagesPerSecond: number;
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
  /** Each record's seconds (their mean is the row's, their median the runtime table's). */
  seconds: number[];
}

interface CurveSums {
  count: number;
  correct: number[];
  probability: number[];
  /** Each image's probability curve, for the bootstrap band. */
  perImage: Array<{ image: string; probability: readonly number[] }>;
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
      group = { images: 0, deletion: emptyCurveSums(line.players), evaluations: 0, seconds: [] };
      this.groups.set(key, group);
    }
    group.images += 1;
    group.evaluations += line.evaluations;
    group.seconds.push(line.seconds);
    addCurve(group.deletion, line.image, line.deletion);
    if (line.perturbation === 'mask' && line.insertion) addCurve((group.insertion ??= emptyCurveSums(line.players)), line.image, line.insertion);
    if (line.perturbation === 'pgd' && line.perturbationNorms) {
      group.norms ??= { count: 0, sum: new Array<number>(line.players).fill(0) };
      group.norms.count += 1;
      line.perturbationNorms.forEach((v, i) => (group.norms!.sum[i]! += v));
    }
  }

  summary(model: string): EvaluationSummary {
    const rows: EvaluationSummaryRow[] = [];
    // Resamples depend only on the number of images: groups of equal size share them.
    const resamples = new Map<number, Uint32Array[]>();
    const meanCurve = (sums: CurveSums): MeanCurve => {
      const drawn = resamples.get(sums.count) ?? bootstrapResamples(sums.count);
      resamples.set(sums.count, drawn);
      return averaged(sums, drawn);
    };
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
          seconds: meanSeconds(group),
        });
      }
    }
    const runtime = EVALUATION_METHODS.flatMap((method) => {
      const group = this.groups.get(`${method}\u0000mask`);
      return group ? [runtimeRow(method, group)] : [];
    });
    return { model, players: this.first?.players ?? 0, images: this.images.size, rows, errors: [...this.errors], warnings: [], runtime };
  }
}

function meanSeconds(group: GroupSums): number {
  return group.seconds.reduce((sum, s) => sum + s, 0) / group.images;
}

function runtimeRow(method: EvaluationMethod, group: GroupSums): RuntimeRow {
  const mean = meanSeconds(group);
  const median = quantile([...group.seconds].sort((a, b) => a - b), 0.5);
  return { method, images: group.images, meanSeconds: mean, medianSeconds: median, evaluations: group.evaluations / group.images, imagesPerSecond: 1 / mean };
}

function emptyCurveSums(players: number): CurveSums {
  return { count: 0, correct: new Array<number>(players + 1).fill(0), probability: new Array<number>(players + 1).fill(0), perImage: [] };
}

function addCurve(sums: CurveSums, image: string, curve: RecordCurve): void {
  sums.count += 1;
  curve.correct.forEach((v, j) => (sums.correct[j]! += v));
  curve.probability.forEach((v, j) => (sums.probability[j]! += v));
  sums.perImage.push({ image, probability: curve.probability });
}

function averaged(sums: CurveSums, resamples: readonly Uint32Array[]): MeanCurve {
  const accuracy = sums.correct.map((v) => v / sums.count);
  const probability = sums.probability.map((v) => v / sums.count);
  // Images in name order, so the band does not depend on the order shards were read in.
  const curves = [...sums.perImage].sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0)).map((c) => c.probability);
  return {
    accuracy,
    probability,
    accuracyAuc: curveArea(accuracy),
    probabilityAuc: curveArea(probability),
    images: sums.count,
    accuracyBand: wilsonBand(accuracy, sums.count),
    probabilityBand: bootstrapMeanBand(curves, resamples),
  };
}
