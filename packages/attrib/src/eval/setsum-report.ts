import type { MethodName } from '../attribution.ts';
import { curveArea, patchesUntilCorrect, patchesUntilWrong, type PatchCurves } from './curves.ts';
import { minimalCells } from './setsum.ts';

/** One explained test image: its label, digits and each method's curves. */
export interface SetSumCase {
  label: number;
  digits: readonly number[];
  curves: Partial<Record<MethodName, PatchCurves>>;
}

export interface SetSumMethodRow {
  method: MethodName;
  images: number;
  /** Mean patches inserted until the prediction is the label. */
  insertionPatches: number;
  /** Share of images where that equals the number of distinct non-zero digits (the minimum). */
  insertionMinimal: number;
  /** Mean patches removed until the prediction is not the label. */
  deletionPatches: number;
  /** Share of images where one removal suffices (the minimum). */
  deletionMinimal: number;
  /** Accuracy after j = 0..N patches, and its area (trapezoid, x = j / N). */
  insertionAccuracy: number[];
  deletionAccuracy: number[];
  insertionAuc: number;
  deletionAuc: number;
}

export interface SetSumReport {
  model: string;
  /** Top-1 accuracy on every image evaluated. */
  accuracy: number;
  evaluated: number;
  /** Images classified correctly. */
  correct: number;
  /** Images explained: those the model classifies correctly. */
  explained: number;
  rows: SetSumMethodRow[];
}

export function summarizeSetSum(model: string, evaluated: number, correct: number, cases: readonly SetSumCase[], methods: readonly MethodName[]): SetSumReport {
  const rows = methods.map((method): SetSumMethodRow => {
    const withCurves = cases.filter((c) => c.curves[method]);
    const n = withCurves.length;
    const mean = (f: (c: SetSumCase) => number) => withCurves.reduce((s, c) => s + f(c), 0) / Math.max(1, n);
    const points = withCurves[0]?.curves[method]?.insertion.top1.length ?? 0;
    const accuracyAt = (kind: 'insertion' | 'deletion') =>
      Array.from({ length: points }, (_, j) => mean((c) => Number(c.curves[method]![kind].top1[j] === c.label)));
    const insertionAccuracy = accuracyAt('insertion');
    const deletionAccuracy = accuracyAt('deletion');
    return {
      method,
      images: n,
      insertionPatches: mean((c) => patchesUntilCorrect(c.curves[method]!.insertion, c.label)),
      insertionMinimal: mean((c) => Number(patchesUntilCorrect(c.curves[method]!.insertion, c.label) === minimalCells(c.digits))),
      deletionPatches: mean((c) => patchesUntilWrong(c.curves[method]!.deletion, c.label)),
      deletionMinimal: mean((c) => Number(patchesUntilWrong(c.curves[method]!.deletion, c.label) === 1)),
      insertionAccuracy,
      deletionAccuracy,
      insertionAuc: curveArea(insertionAccuracy),
      deletionAuc: curveArea(deletionAccuracy),
    };
  });
  return { model, accuracy: correct / Math.max(1, evaluated), evaluated, correct, explained: cases.length, rows };
}

/** The README's table. */
export function setSumMarkdown(report: SetSumReport): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const accuracy = `${report.model}: accuracy ${(100 * report.accuracy).toFixed(2)}% (${report.correct} of ${report.evaluated} test images)`;
  // Accuracy alone (--methods ""): no table to introduce.
  if (report.rows.length === 0) return `${accuracy}.`;
  const lines = [
    `${accuracy}; the ${report.explained} classified correctly are explained.`,
    '',
    '| method | insertion: patches until correct | = distinct non-zero digits | deletion: patches until wrong | = 1 | insertion AUC | deletion AUC |',
    '|---|---|---|---|---|---|---|',
    ...report.rows.map(
      (r) =>
        `| ${r.method} | ${r.insertionPatches.toFixed(2)} | ${pct(r.insertionMinimal)} | ${r.deletionPatches.toFixed(2)} | ${pct(r.deletionMinimal)} | ${r.insertionAuc.toFixed(3)} | ${r.deletionAuc.toFixed(3)} |`,
    ),
  ];
  return lines.join('\n');
}
