import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { COMPARE_CSV_COLUMNS, comparePlotSpec, comparisonCsv, comparisonMarkdown, type ComparedRun } from '@moxi/attrib';
import { InputError } from '@moxi/kernels';
import { usageError } from '../cli-error.ts';
import { PLOT_FONT_FAMILY, renderPlot } from '../evaluate/report-plot.ts';
import { checkOutputFolder, writeFileAtomically } from '../output-paths.ts';
import { writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';
import { shardFiles } from '../evaluate/records-reader.ts';
import { readRunSummary } from './evaluate-report.ts';

interface CompareOptions {
  labels?: string;
  out?: string;
  json?: boolean;
}

/** Runs one figure tells apart (one colour and dash pattern each). */
const MAX_RUNS = 10;

const FILES_HELP = `
Each DIR is read as \`moxi evaluate report DIR\` reads it (every shard's records merged), so
each run's AUCs here equal its own report's. Writes into --out, each through a .partial file
and a rename:
  compare.md   the runs (label, model, images, patches); the AUC of the mean top-1 accuracy
               and of the mean label probability, one row per curve and method, one column
               per run; each method's mean seconds per image by run
  compare.csv  every run's mean curves, long format, columns:
                 ${COMPARE_CSV_COLUMNS.join(', ')}
  compare.svg  one panel per curve and method, one line per run (colour and dash per run),
  compare.png  each run's AUC in the panel's legend

Examples:
  the paper's Fig. 10 (MoXI with attention masking from layer k; the curves remove patches):
    for k in 0 2 5; do moxi evaluate --model M --data D --methods moxi --mask-mode attention --mask-from-layer $k --out runs/k$k; done
    moxi evaluate compare runs/k0 runs/k2 runs/k5 --labels "k = 0,k = 2,k = 5" --out runs/fig10
  the paper's Fig. 17 (the same methods on several models): one run per model, then
    moxi evaluate compare runs/vit runs/resnet --out runs/fig17
`;

/** `moxi evaluate compare DIR...`: several runs' curves overlaid per method, with an AUC table by run. */
export function registerEvaluateCompare(evaluate: Command, run: CommandRunner): void {
  const compare = evaluate
    .command('compare <dirs...>')
    .description('overlay the curves of several evaluation runs per method, with an AUC table by run: compare.md, compare.csv, compare.svg, compare.png')
    .option('--labels <list>', 'comma-separated name of each run, in the order of the folders (default: the folder names)')
    .option('--out <dir>', 'write the comparison into this folder (created if missing); required')
    .option('--json', 'print the runs and their summaries as one JSON document on stdout')
    .addHelpText('after', FILES_HELP);
  compare.action(
    run(async (dirs: string[]) => {
      const o = compare.optsWithGlobals<CompareOptions>();
      const labels = runLabels(dirs, o.labels);
      // optsWithGlobals: `moxi evaluate` defines --out too, and commander gives it to the parent.
      if (o.out === undefined) throw usageError('--out', 'is required: the folder to write compare.md, compare.csv and the figure into');
      const out = o.out;
      checkOutputFolder('--out', out);
      // Every folder is checked before any is read, so a bad one is the only line printed.
      for (const dir of dirs) shardFiles(dir);
      const runs: ComparedRun[] = dirs.map((dir, i) => ({ label: labels[i]!, summary: readRunSummary(dir, `moxi: warning: ${labels[i]}: `).summary }));
      const plot = await renderPlot(comparePlotSpec(runs, { font: PLOT_FONT_FAMILY }));
      mkdirSync(out, { recursive: true });
      const files = { markdown: join(out, 'compare.md'), csv: join(out, 'compare.csv'), svg: join(out, 'compare.svg'), png: join(out, 'compare.png') };
      const markdown = comparisonMarkdown(runs);
      writeFileAtomically(files.markdown, `${markdown}\n`);
      writeFileAtomically(files.csv, comparisonCsv(runs));
      writeFileAtomically(files.svg, plot.svg);
      writeFileAtomically(files.png, plot.png);
      if (o.json) writeJson({ runs: runs.map((r, i) => ({ label: r.label, dir: dirs[i], ...r.summary })), files });
      else writeLines([markdown, '', ...Object.values(files).map((f) => `wrote ${f}`)]);
    }),
  );
}

/** --labels split on commas (one per folder, unique, non-empty), or the folders' names. */
function runLabels(dirs: readonly string[], given: string | undefined): string[] {
  if (dirs.length < 2) throw new InputError(dirs[0] ?? 'compare', 'compare needs two or more run folders (one run: moxi evaluate report DIR)');
  if (dirs.length > MAX_RUNS) throw new InputError(dirs[MAX_RUNS]!, `compare tells at most ${MAX_RUNS} runs apart in one figure; compare fewer folders`);
  const labels = given === undefined ? dirs.map((d) => basename(resolve(d))) : given.split(',').map((l) => l.trim());
  if (labels.length !== dirs.length) throw new InputError('--labels', `gives ${labels.length} names for ${dirs.length} folders; give one per folder, separated by commas`);
  const empty = labels.findIndex((l) => l === '');
  if (empty >= 0) throw new InputError('--labels', `name ${empty + 1} is empty; give one name per folder`);
  const repeated = labels.find((l, i) => labels.indexOf(l) !== i);
  if (repeated !== undefined) throw new InputError(given === undefined ? dirs[labels.lastIndexOf(repeated)]! : '--labels', `the name "${repeated}" is given to two runs; give --labels with one distinct name per folder`);
  return labels;
}
