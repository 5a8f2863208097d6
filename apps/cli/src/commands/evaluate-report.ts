import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  curvesPlotSpec,
  EVALUATION_METHODS,
  evaluationCsv,
  evaluationMarkdown,
  EvaluationSummarizer,
  PlayerCountMismatchError,
  REPORT_PERTURBATIONS,
} from '@moxi/attrib';
import { InputError } from '@moxi/kernels';
import { scanAllShards, type ShardScan } from '../evaluate/records-reader.ts';
import { PLOT_FONT_FAMILY, renderPlot } from '../evaluate/report-plot.ts';
import { writeFileAtomically } from '../output-paths.ts';
import { log, writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';

interface ReportOptions {
  json?: boolean;
}

const FILES_HELP = `
Reads every DIR/records-*.jsonl (a torn last line left by a killed run is ignored; a line
repeated across shards counts once) and DIR/evaluation.json (for the model name), and writes
into DIR, each through a .partial file and a rename:
  summary.md   per method x perturbation: images, AUC of the mean accuracy and of the mean
               label probability for insertion (mask only) and deletion (trapezoid over the
               fraction of patches, 0..1), mean evaluations and seconds per image; the images
               that could not be read; for PGD the mean perturbation norm at a few ranks
  curves.csv   the mean curves, long format, numbers to 6 significant digits, columns:
                 method        ${EVALUATION_METHODS.join(', ')}
                 perturbation  ${REPORT_PERTURBATIONS.join(', ')}
                 curve         insertion, deletion or pgd-norm
                 patches       insertion/deletion: patches inserted or deleted, 0..N;
                               pgd-norm: the patch's rank in deletion order, 1..N
                 fraction      patches / N
                 accuracy      mean top-1 accuracy over images (empty for pgd-norm)
                 probability   mean probability of the label (empty for pgd-norm)
                 norm          pgd-norm only: mean L2 norm of the PGD perturbation on that patch
                 images        images averaged
  curves.svg   the figure: accuracy against the fraction inserted and deleted (mask), one
  curves.png   deletion panel per perturbation, PGD norm per patch; one line per method
`;

/** `moxi evaluate report DIR`: merges every shard's records into summary.md, curves.csv, curves.svg and curves.png. */
export function registerEvaluateReport(evaluate: Command, run: CommandRunner): void {
  const report = evaluate
    .command('report <dir>')
    .description('merge the records of every shard in DIR: summary.md, curves.csv, curves.svg, curves.png')
    .option('--json', 'print the summary as one JSON document on stdout')
    .addHelpText('after', FILES_HELP);
  report.action(
    run(async (dir: string) => {
      // optsWithGlobals: `moxi evaluate` may define --json too, and commander gives it to the parent.
      const o = report.optsWithGlobals<ReportOptions>();
      const summarizer = new EvaluationSummarizer();
      scanShards(dir, summarizer);
      const summary = summarizer.summary(modelName(dir));
      if (summary.images === 0) {
        const errors = summary.errors.length;
        throw new InputError(dir, errors > 0 ? `holds only error lines (${errors} images could not be read), no curves to report` : 'its records-*.jsonl files hold no records yet');
      }
      const plot = await renderPlot(curvesPlotSpec(summary, { font: PLOT_FONT_FAMILY }));
      const markdown = evaluationMarkdown(summary);
      const files = { summary: join(dir, 'summary.md'), csv: join(dir, 'curves.csv'), svg: join(dir, 'curves.svg'), png: join(dir, 'curves.png') };
      writeFileAtomically(files.summary, `${markdown}\n`);
      writeFileAtomically(files.csv, evaluationCsv(summary));
      writeFileAtomically(files.svg, plot.svg);
      writeFileAtomically(files.png, plot.png);
      if (o.json) writeJson({ ...summary, files });
      else writeLines([markdown, '', `wrote ${files.summary}`, `wrote ${files.csv}`, `wrote ${files.svg}`, `wrote ${files.png} (${plot.width}x${plot.height})`]);
    }),
  );
}

/** Streams every shard into the summarizer; notes on stderr what was skipped. */
function scanShards(dir: string, summarizer: EvaluationSummarizer): void {
  let scan: ShardScan;
  try {
    scan = scanAllShards(dir, (line) => summarizer.add(line));
  } catch (error) {
    if (error instanceof PlayerCountMismatchError) throw new InputError(dir, `${error.message}; report one evaluation (one model and grid) per folder`);
    throw error;
  }
  for (const file of scan.torn) log(`moxi: ${file}: ignored its torn last line (left by a killed run)`);
  const first = scan.duplicates[0];
  if (first) {
    log(`moxi: ${dir}: ${scan.duplicates.length} line(s) repeat an earlier image, method and perturbation and were counted once (first: ${first.file} line ${first.lineNumber}, ${first.image})`);
  }
}

/** The model named by DIR/evaluation.json (written by `moxi evaluate`; other fields are ignored). */
function modelName(dir: string): string {
  const path = join(dir, 'evaluation.json');
  if (!existsSync(path)) return 'unknown model';
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new InputError(path, 'is not JSON; it is written by moxi evaluate (delete it to report without a model name)');
  }
  const model = (config as { model?: unknown } | null)?.model;
  return typeof model === 'string' && model !== '' ? model : 'unknown model';
}

