import { existsSync, mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { ranking, type Attribution } from '@moxi/attrib';
import { batchSlice, encodeNpy, InputError, type HostTensor, type PreparedModel } from '@moxi/kernels';
import { readInputFile } from '@moxi/kernels/node';
import { usageError } from '../cli-error.ts';
import { parseNonNegativeInt } from '../option-parsers.ts';
import { writeFileAtomically } from '../output-paths.ts';

/** One image to explain: where it came from, the name its output files get, the tensor [1, C, H, W]. */
export interface ExplainInput {
  path: string;
  /** Row of a .npy batch. */
  index?: number;
  name: string;
  tensor: HostTensor;
}

const INPUT_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.npy'];

/** A file --input names, and the name its outputs get (a folder's files keep their path below it). */
interface InputFile {
  path: string;
  stem: string;
}

/**
 * The files named by --input. A folder gives its images and .npy files at any depth, sorted,
 * hidden entries and --out-dir skipped, so an ImageFolder (one subfolder per class) works as it is; their
 * output names keep the path below the folder ("cat/img1"), so --out-dir mirrors it.
 */
function inputFiles(paths: readonly string[], outDir: string | undefined): InputFile[] {
  // --out-dir inside an input folder: its heatmaps of an earlier run are no inputs.
  const skip = outDir !== undefined && existsSync(outDir) ? realpathSync(outDir) : undefined;
  return paths.flatMap((path) => {
    if (!existsSync(path)) throw new InputError(path, 'does not exist');
    if (!statSync(path).isDirectory()) return [{ path, stem: basename(path, extname(path)) }];
    const files = filesBelow(path, new Set([realpathSync(path), ...(skip ? [skip] : [])])).map((file) => {
      const below = relative(path, file);
      return { path: file, stem: join(dirname(below), basename(below, extname(below))).split(sep).join('/') };
    });
    if (files.length === 0) throw new InputError(path, 'holds no PNG, JPEG or .npy file (in it or in its subfolders)');
    return files;
  });
}

/** Images and .npy files below a folder, depth first in sorted order; symbolic links are followed once. */
function filesBelow(folder: string, seen: Set<string>): string[] {
  const out: string[] = [];
  for (const name of readdirSync(folder).sort()) {
    // Hidden entries are tools' leftovers (.ipynb_checkpoints, macOS ._x.png), never inputs.
    if (name.startsWith('.')) continue;
    const path = join(folder, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) {
      const real = realpathSync(path);
      if (seen.has(real)) continue;
      seen.add(real);
      out.push(...filesBelow(path, seen));
    } else if (stat?.isFile() && INPUT_EXTENSIONS.includes(extname(name).toLowerCase())) {
      out.push(path);
    }
  }
  return out;
}

/**
 * Reads every image --input names. A .npy batch gives one image per row when there are
 * several inputs or --out-dir; otherwise --image-index picks its row.
 */
export function readExplainInputs(paths: readonly string[], prepared: PreparedModel, imageIndex: string | undefined, outDir: string | undefined): ExplainInput[] {
  const many = outDir !== undefined;
  const files = inputFiles(paths, outDir);
  if (imageIndex !== undefined && files.length > 1) throw usageError('--image-index', `picks a row of one .npy input, but --input names ${files.length} files`);
  const images = files.flatMap(({ path, stem }): ExplainInput[] => {
    const batch = readInputFile(path, prepared.info.inputShape, prepared.preprocessing);
    const count = batch.shape[0]!;
    if (imageIndex !== undefined) {
      const index = parseNonNegativeInt('--image-index', imageIndex);
      if (index >= count) throw usageError('--image-index', `${index} is out of range (${path} holds ${count} image${count > 1 ? 's' : ''})`);
      return [{ path, index, name: count > 1 ? `${stem}-${index}` : stem, tensor: batchSlice(batch, index) }];
    }
    if (count === 1) return [{ path, name: stem, tensor: batch }];
    if (!many) throw usageError('--input', `${path} holds ${count} images; pick one with --image-index 0..${count - 1}, or give --out-dir D to explain them all`);
    return Array.from({ length: count }, (_, index) => ({ path, index, name: `${stem}-${index}`, tensor: batchSlice(batch, index) }));
  });
  const seen = new Map<string, string>();
  for (const image of images) {
    const other = seen.get(image.name);
    if (other !== undefined) throw usageError('--input', `${other} and ${image.path} would both write ${image.name}.*; rename one or explain them separately`);
    seen.set(image.name, image.path);
  }
  return images;
}

function csvField(value: string | number | boolean | null): string {
  const text = value === null ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export interface ExplainedImage {
  name: string;
  report: { input: string; imageIndex?: number; predicted: number; predictedLabel?: string | null; target: number; targetLabel?: string | null; method: string; evaluations: number; seconds: number; stopStep?: number; stopHeld?: boolean };
  attribution: Attribution;
}

export const SUMMARY_COLUMNS = ['image', 'row', 'name', 'predicted', 'target', 'method', 'grid', 'evaluations', 'seconds', 'stop_step', 'stop_held', 'ranking'];

/**
 * --out-dir: per image `<name>.json` (what --json prints for one image), `<name>.scores.npy`
 * (float32 [gh, gw], row-major like the players) and `<name>.png` (the heatmap), then
 * `summary.csv` with one row per image. Returns the file count.
 */
export async function writeExplanationFolder(dir: string, images: readonly ExplainedImage[], heatmap: (k: number, out: string) => Promise<void>): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const rows = [SUMMARY_COLUMNS.join(',')];
  for (const [k, { name, report, attribution: a }] of images.entries()) {
    // An ImageFolder's images keep their class folder: "cat/img1" writes cat/img1.*.
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileAtomically(join(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileAtomically(join(dir, `${name}.scores.npy`), encodeNpy({ shape: [...a.grid], data: Float32Array.from(a.scores) }));
    await heatmap(k, join(dir, `${name}.png`));
    const fields = [report.input, report.imageIndex ?? null, name, report.predicted, report.target, report.method, a.grid.join('x'), report.evaluations, report.seconds.toFixed(4), report.stopStep ?? null, report.stopHeld ?? null, (a.order ?? ranking(a)).join(' ')];
    rows.push(fields.map(csvField).join(','));
  }
  writeFileAtomically(join(dir, 'summary.csv'), `${rows.join('\n')}\n`);
  return images.length * 3 + 1;
}

/** "3 (cat)" where the model names class 3; SET-SUM's names are the sums themselves, and "13 (13)" says nothing twice. */
export function className(index: number, label: string | null | undefined): string {
  return label && label !== String(index) ? `${index} (${label})` : String(index);
}

/** The text report of an --out-dir run: what was written, then one line per image. */
export function folderSummary(reports: ReadonlyArray<ExplainedImage['report'] & { heatmap: string | null }>, files: number): string[] {
  const first = reports[0]!;
  const lines = [`explained ${reports.length} images with ${first.method}; wrote ${files} files (per image: heatmap .png, .json, .scores.npy; and summary.csv)`];
  for (const r of reports) {
    const image = r.imageIndex === undefined ? r.input : `${r.input}[${r.imageIndex}]`;
    lines.push(`${image}: predicted ${className(r.predicted, r.predictedLabel)}, explained ${className(r.target, r.targetLabel)}, ${r.evaluations} evaluations${r.stopStep !== undefined ? `, stop step ${r.stopStep}${r.stopHeld === false ? ' (never held)' : ''}` : ''} -> ${r.heatmap}`);
  }
  return lines;
}
