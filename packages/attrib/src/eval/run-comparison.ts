import { CURVE_KINDS, EVALUATION_METHODS, type CurvePerturbation, type EvaluationMethod } from './evaluation-record.ts';
import type { EvaluationSummary, MeanCurve } from './evaluation-summary.ts';
import { csvNumber, markdownCell } from './evaluation-report-text.ts';

/**
 * Several evaluation runs side by side (`moxi evaluate compare`): the paper's Fig. 10 (one
 * run per first masked layer k) and Fig. 17 (one run per model) overlay runs, not methods.
 */
export interface ComparedRun {
  /** The run's name in the table and legend (unique). */
  label: string;
  summary: EvaluationSummary;
}

/** One curve of one run: what the compare table, CSV and figure are made of. */
export interface ComparedCurve {
  label: string;
  method: EvaluationMethod;
  perturbation: CurvePerturbation;
  curve: 'insertion' | 'deletion';
  mean: MeanCurve;
  players: number;
}

/** Every run's curves in a fixed order: insertion (mask) first, then deletion per perturbation, methods in report order, runs in the given order. */
export function comparedCurves(runs: readonly ComparedRun[]): ComparedCurve[] {
  const out: ComparedCurve[] = [];
  for (const key of curveKeys(runs)) {
    for (const run of runs) {
      const row = run.summary.rows.find((r) => r.method === key.method && r.perturbation === key.perturbation);
      const mean = row && (key.curve === 'insertion' ? row.insertion : row.deletion);
      if (mean) out.push({ label: run.label, ...key, mean, players: run.summary.players });
    }
  }
  return out;
}

/** The (curve, method, perturbation) combinations any run has, in report order. */
export function curveKeys(runs: readonly ComparedRun[]): Array<Pick<ComparedCurve, 'method' | 'perturbation' | 'curve'>> {
  const keys = new Map<string, Pick<ComparedCurve, 'method' | 'perturbation' | 'curve'>>();
  const add = (k: Pick<ComparedCurve, 'method' | 'perturbation' | 'curve'>) => keys.set(`${k.curve}/${k.perturbation}/${k.method}`, k);
  // Report order: every run's rows are already in EVALUATION_METHODS x REPORT_PERTURBATIONS order.
  const rows = runs.flatMap((r) => r.summary.rows);
  for (const r of rows) if (r.insertion) add({ method: r.method, perturbation: r.perturbation, curve: 'insertion' });
  for (const r of rows) add({ method: r.method, perturbation: r.perturbation, curve: 'deletion' });
  const order = (k: Pick<ComparedCurve, 'method' | 'perturbation' | 'curve'>) => [k.curve === 'insertion' ? 0 : 1, PERTURBATION_ORDER.indexOf(k.perturbation), METHOD_ORDER.indexOf(k.method)];
  return [...keys.values()].sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
  });
}

const PERTURBATION_ORDER: readonly CurvePerturbation[] = CURVE_KINDS;
const METHOD_ORDER: readonly EvaluationMethod[] = EVALUATION_METHODS;

/**
 * compare.md: the runs (label, model, images, patches), then the AUCs of the mean accuracy
 * and of the mean label probability, one row per curve and method, one column per run
 * (each equal to that run's own report), then each method's mean seconds per image by run.
 */
export function comparisonMarkdown(runs: readonly ComparedRun[]): string {
  const curves = comparedCurves(runs);
  const labels = runs.map((r) => r.label);
  const columns = labels.map(markdownCell);
  const header = (first: string[]) => [`| ${[...first, ...columns].join(' | ')} |`, `|${first.map(() => '---').join('|')}|${labels.map(() => '--:').join('|')}|`];
  const aucTable = (metric: 'accuracyAuc' | 'probabilityAuc') =>
    curveKeys(runs).map((k) => {
      const cells = labels.map((label) => {
        const c = curves.find((x) => x.label === label && x.method === k.method && x.perturbation === k.perturbation && x.curve === k.curve);
        return c ? c.mean[metric].toFixed(3) : '–';
      });
      return `| ${[k.curve, k.perturbation, k.method, ...cells].join(' | ')} |`;
    });
  const methods = METHOD_ORDER.filter((m) => runs.some((r) => r.summary.runtime.some((t) => t.method === m)));
  return [
    `# ${runs.length} runs compared`,
    '',
    '| run | model | images | patches |',
    '|---|---|--:|--:|',
    ...runs.map((r) => `| ${markdownCell(r.label)} | ${markdownCell(r.summary.model)} | ${r.summary.images} | ${r.summary.players} |`),
    '',
    ...runs.flatMap((r) => r.summary.warnings.map((w) => `- Warning (${markdownCell(r.label)}): ${markdownCell(w)}`)),
    ...(runs.some((r) => r.summary.warnings.length > 0) ? [''] : []),
    'Area under the mean top-1 accuracy curve (trapezoid over the fraction of patches, 0 to 1; insertion higher is better, deletion lower):',
    '',
    ...header(['curve', 'perturbation', 'method']),
    ...aucTable('accuracyAuc'),
    '',
    'Area under the mean label probability curve:',
    '',
    ...header(['curve', 'perturbation', 'method']),
    ...aucTable('probabilityAuc'),
    '',
    'Mean seconds per image of each explanation (each image explained alone):',
    '',
    ...header(['method']),
    ...methods.map((m) => `| ${[m, ...runs.map((r) => r.summary.runtime.find((t) => t.method === m)?.meanSeconds.toPrecision(3) ?? '–')].join(' | ')} |`),
  ].join('\n');
}

/** The columns of compare.csv (documented in `moxi evaluate compare --help`). */
export const COMPARE_CSV_COLUMNS = ['run', 'method', 'perturbation', 'curve', 'patches', 'fraction', 'accuracy', 'probability', 'images', 'accuracy_auc', 'probability_auc'] as const;

/** compare.csv: every run's mean curves in long format, each row with its curve's AUCs. */
export function comparisonCsv(runs: readonly ComparedRun[]): string {
  const rows: string[] = [COMPARE_CSV_COLUMNS.join(',')];
  for (const c of comparedCurves(runs)) {
    c.mean.accuracy.forEach((a, j) =>
      rows.push([csvText(c.label), c.method, c.perturbation, c.curve, j, csvNumber(j / c.players), csvNumber(a), csvNumber(c.mean.probability[j]!), c.mean.images, csvNumber(c.mean.accuracyAuc), csvNumber(c.mean.probabilityAuc)].join(',')),
    );
  }
  return `${rows.join('\n')}\n`;
}

/** A label with a comma or quote is quoted as CSV wants. */
function csvText(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
