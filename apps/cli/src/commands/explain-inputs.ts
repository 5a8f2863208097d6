import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
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

/** The files named by --input: folders give their images and .npy files (sorted, not recursive, hidden ones skipped). */
function inputFiles(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    if (!existsSync(path)) throw new InputError(path, 'does not exist');
    if (!statSync(path).isDirectory()) return [path];
    const files = readdirSync(path)
      .filter((f) => !f.startsWith('.') && INPUT_EXTENSIONS.includes(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(path, f))
      .filter((f) => statSync(f).isFile());
    if (files.length === 0) throw new InputError(path, 'holds no PNG, JPEG or .npy file');
    return files;
  });
}

/**
 * Reads every image --input names. A .npy batch gives one image per row when there are
 * several inputs or --out-dir; otherwise --image-index picks its row.
 */
export function readExplainInputs(paths: readonly string[], prepared: PreparedModel, imageIndex: string | undefined, many: boolean): ExplainInput[] {
  const files = inputFiles(paths);
  if (imageIndex !== undefined && files.length > 1) throw usageError('--image-index', `picks a row of one .npy input, but --input names ${files.length} files`);
  const images = files.flatMap((path): ExplainInput[] => {
    const batch = readInputFile(path, prepared.info.inputShape, prepared.preprocessing);
    const count = batch.shape[0]!;
    const stem = basename(path, extname(path));
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
  report: { input: string; imageIndex?: number; predicted: number; target: number; method: string; evaluations: number; seconds: number; stopStep?: number; stopHeld?: boolean };
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
    writeFileAtomically(join(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileAtomically(join(dir, `${name}.scores.npy`), encodeNpy({ shape: [...a.grid], data: Float32Array.from(a.scores) }));
    await heatmap(k, join(dir, `${name}.png`));
    const fields = [report.input, report.imageIndex ?? null, name, report.predicted, report.target, report.method, a.grid.join('x'), report.evaluations, report.seconds.toFixed(4), report.stopStep ?? null, report.stopHeld ?? null, (a.order ?? ranking(a)).join(' ')];
    rows.push(fields.map(csvField).join(','));
  }
  writeFileAtomically(join(dir, 'summary.csv'), `${rows.join('\n')}\n`);
  return images.length * 3 + 1;
}

/** The text report of an --out-dir run: what was written, then one line per image. */
export function folderSummary(reports: ReadonlyArray<ExplainedImage['report'] & { heatmap: string | null }>, files: number): string[] {
  const first = reports[0]!;
  const lines = [`explained ${reports.length} images with ${first.method}; wrote ${files} files (per image: heatmap .png, .json, .scores.npy; and summary.csv)`];
  for (const r of reports) {
    const image = r.imageIndex === undefined ? r.input : `${r.input}[${r.imageIndex}]`;
    lines.push(`${image}: predicted ${r.predicted}, explained ${r.target}, ${r.evaluations} evaluations${r.stopStep !== undefined ? `, stop step ${r.stopStep}${r.stopHeld === false ? ' (never held)' : ''}` : ''} -> ${r.heatmap}`);
  }
  return lines;
}
