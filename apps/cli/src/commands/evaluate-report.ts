import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  BOOTSTRAP_REPLICATES,
  BOOTSTRAP_SEED,
  curvesPlotSpec,
  EVALUATION_METHODS,
  evaluationCsv,
  evaluationMarkdown,
  evaluationRuntimeCsv,
  EvaluationSummarizer,
  type EvaluationLine,
  type EvaluationSummary,
  PlayerCountMismatchError,
  REPORT_PERTURBATIONS,
} from '@moxi/attrib';
import { InputError } from '@moxi/kernels';
import { readShardStatuses, scanAllShards, shardFiles, type ShardScan } from '../evaluate/records-reader.ts';
import { PLOT_FONT_FAMILY, renderPlot } from '../evaluate/report-plot.ts';
import { SelectionRecords, selectionFigures } from '../evaluate/report-selections.ts';
import { reportCoverage, type ReportRunConfig } from '../evaluate/report-warnings.ts';
import { parseNonNegativeInt } from '../option-parsers.ts';
import { checkOutputFolder, writeFileAtomically } from '../output-paths.ts';
import { log, writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';

interface ReportOptions {
  json?: boolean;
  out?: string;
  selectionImages: string;
}

/** Images in the patch-selection figures (Fig. 11/12) unless --selection-images says otherwise. */
const SELECTION_IMAGES = 6;

const FILES_HELP = `
Reads every DIR/records-*.jsonl (a torn last line left by a killed run is ignored; a line
repeated across shards counts once), DIR/evaluation.json (the model, the shard count, the
selection) and DIR/shard-*.json (each shard's adapter and progress, where the run wrote them),
and writes into DIR (or --out), each through a .partial file and a rename:
  summary.md   warnings first: shards without records, shards or runs that stopped before
               their last image, images that could not be read, mixed settings, shards on
               different or software adapters (also in --json as "warnings", and on stderr);
               each shard's adapter, host and progress; per method x perturbation: images, AUC of the mean accuracy and of the mean
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
  runtime.csv  what each method's explanation of one image cost (the paper's Table 1; also in
               summary.md and --json as "runtime"), from the mask records, columns:
                 method, images, mean_seconds, median_seconds (each image's own time,
                 curves not included), evaluations_per_image (coalitions or passes),
                 images_per_second (1 / mean_seconds)
  selection-insertion.svg/.png, selection-deletion.svg/.png
               the paper's Fig. 11 and 12 for the first --selection-images images by name:
               one row per image, one column per method, the patches inserted until the
               prediction is right (deleted until it is wrong) outlined on the image as the
               model saw it (read again from the data set and model named in
               evaluation.json; skipped, with a warning, where they are not on this machine)
  curves.svg   the figure: mean top-1 accuracy (95% Wilson bands) and mean label probability
  curves.png   (95% bootstrap bands over images, ${BOOTSTRAP_REPLICATES} resamples, seed ${BOOTSTRAP_SEED}) against the fraction
               inserted and deleted (mask) and perturbed; PGD norm per patch; one line style,
               marker and colour per method, MoXI on top, its AUC in each legend, n per panel
`;

/** `moxi evaluate report DIR`: merges every shard's records into summary.md, curves.csv, curves.svg and curves.png. */
export function registerEvaluateReport(evaluate: Command, run: CommandRunner): void {
  const report = evaluate
    .command('report <dir>')
    .description('merge the records of every shard in DIR: summary.md, curves.csv, runtime.csv, curves.svg, curves.png')
    .option('--json', 'print the summary as one JSON document on stdout')
    .option('--out <dir>', 'write summary.md and the curves into this folder (created if missing) instead of DIR')
    .option('--selection-images <k>', 'images (the first by name) in the patch-selection figures, the paper\'s Fig. 11/12; 0: none', String(SELECTION_IMAGES))
    .addHelpText('after', FILES_HELP);
  report.action(
    run(async (dir: string) => {
      // optsWithGlobals: `moxi evaluate` may define --json too, and commander gives it to the parent.
      const o = report.optsWithGlobals<ReportOptions>();
      shardFiles(dir); // a missing folder or one without records is named before anything else
      const outDir = o.out ?? dir;
      if (o.out === undefined) checkRunFolderWritable(dir);
      else {
        checkOutputFolder('--out', o.out);
        mkdirSync(o.out, { recursive: true });
      }
      const selectionCount = parseNonNegativeInt('--selection-images', o.selectionImages);
      const selections = new SelectionRecords(selectionCount);
      const { summary, curveWarnings, config } = readRunSummary(dir, undefined, selections.add);
      // The figure repeats what its curves miss, not the timing notes (adapters).
      const plot = await renderPlot(curvesPlotSpec({ ...summary, warnings: curveWarnings }, { font: PLOT_FONT_FAMILY }));
      const figures = await selectionFigures(config, selections, summary.players);
      const markdown = evaluationMarkdown(summary);
      const files = { summary: join(outDir, 'summary.md'), csv: join(outDir, 'curves.csv'), runtime: join(outDir, 'runtime.csv'), svg: join(outDir, 'curves.svg'), png: join(outDir, 'curves.png') };
      writeFileAtomically(files.summary, `${markdown}\n`);
      writeFileAtomically(files.csv, evaluationCsv(summary));
      writeFileAtomically(files.runtime, evaluationRuntimeCsv(summary));
      writeFileAtomically(files.svg, plot.svg);
      writeFileAtomically(files.png, plot.png);
      const selectionFiles = figures.files.map((f) => join(outDir, f.name));
      figures.files.forEach((f, i) => writeFileAtomically(selectionFiles[i]!, f.bytes));
      if (figures.skipped) log(`moxi: warning: the patch-selection figures were not drawn: ${figures.skipped}`);
      if (o.json) writeJson({ ...summary, files: { ...files, selections: selectionFiles } });
      else writeLines([markdown, '', `wrote ${files.summary}`, `wrote ${files.csv}`, `wrote ${files.runtime}`, `wrote ${files.svg}`, `wrote ${files.png} (${plot.width}x${plot.height})`, ...selectionFiles.map((f) => `wrote ${f}`)]);
    }),
  );
}

/**
 * The summary of one run folder, as `moxi evaluate report` writes it: every shard's records
 * merged, the warnings (also said on stderr, after `prefix`) and each shard's progress.
 * `curveWarnings`: the warnings about what the curves miss (not the timing notes).
 */
export function readRunSummary(dir: string, prefix = 'moxi: warning: ', onLine?: (line: EvaluationLine) => void): { summary: EvaluationSummary; curveWarnings: string[]; config: Record<string, unknown> } {
  const config = runConfig(dir);
  const summarizer = new EvaluationSummarizer();
  const scan = scanShards(dir, summarizer, onLine);
  const summary = summarizer.summary(modelName(config));
  if (summary.images === 0) {
    const errors = summary.errors.length;
    throw new InputError(dir, errors > 0 ? `holds only error lines (${errors} images could not be read), no curves to report` : 'its records-*.jsonl files hold no records yet');
  }
  const { statuses, unreadable } = readShardStatuses(dir);
  const coverage = reportCoverage(reportConfig(config), scan, statuses, summary);
  summary.warnings = [...unreadable.map((f) => `${f} is not a JSON object and was ignored (it is written by moxi evaluate).`), ...coverage.warnings];
  if (coverage.shards.length > 0) summary.shards = coverage.shards;
  for (const warning of summary.warnings) log(`${prefix}${warning}`);
  return { summary, curveWarnings: coverage.curveWarnings, config };
}

/**
 * Without --out the report goes into the run folder: a folder it cannot write into (read-only
 * mount, another user's files) is named in one line that suggests --out, before any work.
 * Probed by creating a file: permission bits say nothing about mounts, and root passes them.
 */
function checkRunFolderWritable(dir: string): void {
  const probe = join(dir, `.moxi-write-probe-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, '', { flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code === 'ENOSPC' ? 'no space left' : code;
    throw new InputError(dir, `cannot write the report into this folder (${why}); give --out DIR to write summary.md and the curves elsewhere`);
  }
  unlinkSync(probe);
}

/** Streams every shard into the summarizer; notes on stderr what was skipped. */
function scanShards(dir: string, summarizer: EvaluationSummarizer, onLine?: (line: EvaluationLine) => void): ShardScan {
  let scan: ShardScan;
  try {
    scan = scanAllShards(dir, (line) => {
      summarizer.add(line);
      onLine?.(line);
    });
  } catch (error) {
    if (error instanceof PlayerCountMismatchError) throw new InputError(dir, `${error.message}; report one evaluation (one model and grid) per folder`);
    throw error;
  }
  for (const file of scan.torn) log(`moxi: ${file}: ignored its torn last line (left by a killed run)`);
  const first = scan.duplicates[0];
  if (first) {
    log(`moxi: ${dir}: ${scan.duplicates.length} line(s) repeat an earlier image, method and perturbation and were counted once (first: ${first.file} line ${first.lineNumber}, ${first.image})`);
  }
  return scan;
}

/** DIR/evaluation.json (written by `moxi evaluate`), or an empty object when the folder has none. */
function runConfig(dir: string): Record<string, unknown> {
  const path = join(dir, 'evaluation.json');
  if (!existsSync(path)) return {};
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new InputError(path, 'is not JSON; it is written by moxi evaluate (delete it to report without a model name)');
  }
  return typeof config === 'object' && config !== null && !Array.isArray(config) ? (config as Record<string, unknown>) : {};
}

function modelName(config: Record<string, unknown>): string {
  const model = config.model;
  return typeof model === 'string' && model !== '' ? model : 'unknown model';
}

/** The fields the coverage checks use, each only when it has the type moxi evaluate writes. */
function reportConfig(config: Record<string, unknown>): ReportRunConfig {
  const out: ReportRunConfig = {};
  const count = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  const strings = (v: unknown) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : undefined);
  const shards = count(config.shards);
  if (shards !== undefined) out.shards = shards;
  const selection = config.selection as { images?: unknown; perClass?: unknown } | undefined;
  const images = count(selection?.images);
  const perClass = count(selection?.perClass);
  if (images !== undefined || perClass !== undefined) out.selection = { ...(images !== undefined ? { images } : {}), ...(perClass !== undefined ? { perClass } : {}) };
  const methods = strings(config.methods);
  if (methods) out.methods = methods;
  const perturbations = strings(config.perturbations);
  if (perturbations) out.perturbations = perturbations;
  return out;
}

