import type { EvaluationSummary, EvaluationSummaryRow, RuntimeRow, ShardReport } from './evaluation-summary.ts';

/** Error lines listed by name in the markdown; the rest are counted. */
const LISTED_ERRORS = 5;

/**
 * summary.md: a heading with the model and image count, the warnings (what the report does
 * not cover or mixes) first, each shard's adapter and progress, one row per method x perturbation
 * (AUCs of the mean accuracy and mean label probability, mean cost per image), the error
 * lines, and for PGD the mean perturbation norm at a few deletion ranks.
 */
export function evaluationMarkdown(summary: EvaluationSummary): string {
  const lines = [
    `# ${markdownCell(summary.model)}: ${summary.images} images, ${summary.players} patches each`,
    '',
    ...warningLines(summary.warnings),
    ...(summary.shards && summary.shards.length > 0 ? [...shardsTable(summary.shards), ''] : []),
    'Areas under the mean curves over the fraction of patches inserted or deleted (trapezoid, 0 to 1): ' +
      'insertion higher is better, deletion lower is better. Perturbations replace the deleted patches (deletion only).',
    '',
    '| method | perturbation | images | insertion AUC (accuracy) | deletion AUC (accuracy) | insertion AUC (probability) | deletion AUC (probability) | evaluations / image | seconds / image |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
    ...summary.rows.map((r) =>
      [
        r.method,
        r.perturbation,
        String(r.images),
        auc(r.insertion?.accuracyAuc),
        auc(r.deletion.accuracyAuc),
        auc(r.insertion?.probabilityAuc),
        auc(r.deletion.probabilityAuc),
        count(r.evaluations),
        seconds(r.seconds),
      ].join(' | '),
    ).map((row) => `| ${row} |`),
    '',
    ...runtimeTable(summary.runtime),
    '',
    errorsLine(summary),
  ];
  const pgd = summary.rows.filter((r) => r.perturbationNorms);
  if (pgd.length > 0) lines.push('', ...normsTable(pgd, summary.players));
  return lines.join('\n');
}

/** The columns of curves.csv, documented in `moxi evaluate report --help`. */
export const CURVES_CSV_COLUMNS = ['method', 'perturbation', 'curve', 'patches', 'fraction', 'accuracy', 'probability', 'norm', 'images'] as const;

/**
 * curves.csv in long format: for `insertion` and `deletion` one row per j = 0..N with
 * fraction j / N, mean accuracy and mean probability (norm empty); for `pgd-norm` one row per
 * deletion rank r = 1..N with fraction r / N and the mean L2 norm (accuracy, probability empty).
 * Numbers have 6 significant digits.
 */
export function evaluationCsv(summary: EvaluationSummary): string {
  const rows: string[] = [CURVES_CSV_COLUMNS.join(',')];
  const N = summary.players;
  for (const r of summary.rows) {
    for (const [curve, mean] of [['insertion', r.insertion], ['deletion', r.deletion]] as const) {
      mean?.accuracy.forEach((a, j) => rows.push([r.method, r.perturbation, curve, j, csvNumber(j / N), csvNumber(a), csvNumber(mean.probability[j]!), '', r.images].join(',')));
    }
    r.perturbationNorms?.forEach((norm, i) => rows.push([r.method, r.perturbation, 'pgd-norm', i + 1, csvNumber((i + 1) / N), '', '', csvNumber(norm), r.images].join(',')));
  }
  return `${rows.join('\n')}\n`;
}

/** The columns of runtime.csv (the paper's Table 1), documented in `moxi evaluate report --help`. */
export const RUNTIME_CSV_COLUMNS = ['method', 'images', 'mean_seconds', 'median_seconds', 'evaluations_per_image', 'images_per_second'] as const;

/** runtime.csv: one row per method, numbers to 6 significant digits (images/s empty when no time was measured). */
export function evaluationRuntimeCsv(summary: EvaluationSummary): string {
  const rows = summary.runtime.map((r) =>
    [r.method, r.images, csvNumber(r.meanSeconds), csvNumber(r.medianSeconds), csvNumber(r.evaluations), Number.isFinite(r.imagesPerSecond) ? csvNumber(r.imagesPerSecond) : ''].join(','),
  );
  return `${[RUNTIME_CSV_COLUMNS.join(','), ...rows].join('\n')}\n`;
}

/** Table 1 of the paper: what each method's explanation of one image costs. */
function runtimeTable(runtime: readonly RuntimeRow[]): string[] {
  if (runtime.length === 0) return [];
  return [
    'Runtime per image (the paper\'s Table 1): each image explained alone, curves not included.',
    '',
    '| method | images | mean seconds / image | median seconds / image | evaluations / image | images / s |',
    '|---|--:|--:|--:|--:|--:|',
    ...runtime.map((r) => `| ${[r.method, String(r.images), seconds(r.meanSeconds), seconds(r.medianSeconds), count(r.evaluations), Number.isFinite(r.imagesPerSecond) ? rate(r.imagesPerSecond) : '–'].join(' | ')} |`),
  ];
}

function rate(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toPrecision(2);
}

function warningLines(warnings: readonly string[] | undefined): string[] {
  if (!warnings || warnings.length === 0) return [];
  return [`**Warning${warnings.length === 1 ? '' : 's'}:**`, '', ...warnings.map((w) => `- ${markdownCell(w)}`), ''];
}

/** One row per shard: where it ran and how far it got. */
function shardsTable(shards: readonly ShardReport[]): string[] {
  const known = (v: string | number | undefined) => (v === undefined ? '?' : markdownCell(String(v)));
  return [
    'Shards:',
    '',
    '| shard | adapter | host | images selected | images in records | finished | updated |',
    '|---|---|---|--:|--:|---|---|',
    ...shards.map((s) =>
      `| ${[
        s.shard,
        s.adapter === undefined ? '?' : `${markdownCell(s.adapter)}${s.software ? ' (software)' : ''}`,
        known(s.host),
        known(s.images),
        s.records ? String(s.recordImages) : 'no records file',
        s.complete === undefined ? '?' : s.complete ? 'yes' : `no (${known(s.finished)} done)`,
        known(s.updatedAt),
      ].join(' | ')} |`,
    ),
  ];
}

function errorsLine(summary: EvaluationSummary): string {
  const n = summary.errors.length;
  if (n === 0) return 'Images that could not be read: none.';
  const listed = summary.errors.slice(0, LISTED_ERRORS).map((e) => `${markdownCell(e.image)} (${markdownCell(e.error.split('\n')[0] ?? '')})`);
  const more = n > LISTED_ERRORS ? `, and ${n - LISTED_ERRORS} more` : '';
  return `Images that could not be read: ${n}: ${listed.join(', ')}${more}.`;
}

/** The PGD norms at five deletion ranks (first, quartiles, last); curves.csv has every rank. */
function normsTable(rows: readonly EvaluationSummaryRow[], players: number): string[] {
  const ranks = [...new Set([1, Math.ceil(players / 4), Math.ceil(players / 2), Math.ceil((3 * players) / 4), players])].filter((r) => r >= 1);
  return [
    'Mean L2 norm of the PGD perturbation on the patch at each deletion rank:',
    '',
    `| method | ${ranks.map((r) => `rank ${r}`).join(' | ')} |`,
    `|---|${ranks.map(() => '--:').join('|')}|`,
    ...rows.map((r) => `| ${r.method} | ${ranks.map((k) => (r.perturbationNorms![k - 1] ?? 0).toFixed(3)).join(' | ')} |`),
  ];
}

/** 6 significant digits, without the float noise of a mean (0.15, not 0.15000000000000002). */
export function csvNumber(value: number): string {
  return String(Number(value.toPrecision(6)));
}

function auc(value: number | undefined): string {
  return value === undefined ? '–' : value.toFixed(3);
}

function count(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function seconds(value: number): string {
  if (value >= 1) return value.toFixed(2);
  return value >= 0.001 || value === 0 ? value.toPrecision(3) : value.toExponential(2);
}

/** Markdown table cells and headings must not break on a pipe or a newline in a path or message. */
export function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}
