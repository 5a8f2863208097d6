import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { isErrorRecord, patchesUntilFlip, patchSelectionSvg, type EvaluationLine, type EvaluationMethod, type EvaluationRecord, type PatchSelectionRow, type SelectionCurve } from '@moxi/attrib';
import { backdropPixels } from '../heatmap-file.ts';
import { encodePng, rasterizeSvg } from '../heatmap-render.ts';
import { readImageTensor } from '../image-files.ts';
import { prepareModelFromOptions } from '../model-session.ts';
import { PLOT_FONT_FAMILY } from './report-plot.ts';

/**
 * Keeps the mask records of the first `count` images by name (the paper's Fig. 11/12 show a
 * few images): streamed, so memory stays at `count` images x methods whatever the run's size.
 */
export class SelectionRecords {
  private readonly byImage = new Map<string, EvaluationRecord[]>();
  constructor(readonly count: number) {}

  add = (line: EvaluationLine): void => {
    if (this.count === 0 || isErrorRecord(line) || line.perturbation !== 'mask') return;
    const kept = this.byImage.get(line.image);
    if (kept) {
      kept.push(line);
      return;
    }
    if (this.byImage.size >= this.count) {
      const last = [...this.byImage.keys()].sort().pop()!;
      if (line.image > last) return;
      this.byImage.delete(last);
    }
    this.byImage.set(line.image, [line]);
  };

  /** The kept images in name order, each with its records. */
  images(): Array<[string, EvaluationRecord[]]> {
    return [...this.byImage.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

export interface SelectionFigures {
  /** File names (selection-insertion.svg, ...) and their bytes, written by the caller with the rest of the report. */
  files: Array<{ name: string; bytes: string | Buffer }>;
  /** Why the figures were not drawn (the images or the model are not where the run found them). */
  skipped?: string;
}

/**
 * selection-insertion.{svg,png} and selection-deletion.{svg,png}, made before anything is
 * written (an image that cannot be read stops the report before it writes): for the first images, per
 * method, the patches inserted until the prediction is right and deleted until it is wrong,
 * drawn over the image as the model saw it (read again from the data set and preprocessed
 * with the model's settings, both named in evaluation.json).
 */
export async function selectionFigures(config: Record<string, unknown>, records: SelectionRecords, players: number): Promise<SelectionFigures> {
  const images = records.images();
  if (images.length === 0) return { files: [] };
  const data = typeof config.data === 'string' ? config.data : undefined;
  const model = typeof config.model === 'string' ? config.model : undefined;
  if (!data || !model) return { files: [], skipped: 'evaluation.json names no data set or model, so the images cannot be drawn' };
  const missing = [data, model].find((p) => !existsSync(p));
  if (missing) return { files: [], skipped: `${missing} (named in evaluation.json) is not on this machine, so the images cannot be drawn` };
  const paths = images.map(([name]) => (isAbsolute(name) ? name : join(data, name)));
  const gone = paths.find((p) => !existsSync(p));
  if (gone) return { files: [], skipped: `${gone} (an image of the run) is not on this machine, so the images cannot be drawn` };
  const grid = playerGrid(config, players);
  if (!grid) return { files: [], skipped: `${players} players do not form a square grid and evaluation.json gives none` };
  // The model's preprocessing, with the run's --preprocess, as evaluate prepared it.
  const prepared = prepareModelFromOptions({ model, ...(typeof config.preprocess === 'string' ? { preprocess: config.preprocess } : {}) });
  const preprocessing = prepared.preprocessing!;
  // Each image read and preprocessed once, for both figures.
  const pictures = paths.map((path) => backdropPixels(path, readImageTensor(path, preprocessing), preprocessing));
  const methods = [...new Set(images.flatMap(([, rs]) => rs.map((r) => r.method)))];
  const order = (m: EvaluationMethod) => images[0]![1].findIndex((r) => r.method === m);
  methods.sort((a, b) => order(a) - order(b));
  const rowsFor = (curve: SelectionCurve): PatchSelectionRow[] =>
    images.map(([name, rs], i) => {
      const label = rs[0]!.label;
      const selections: PatchSelectionRow['selections'] = {};
      for (const r of rs) selections[r.method] = curve === 'insertion' ? patchesUntilFlip('insertion', r.insertionOrder, r.insertion!) : patchesUntilFlip('deletion', r.deletionOrder, r.deletion);
      return { image: pictures[i]!, name, label: prepared.labels?.[label] ?? String(label), selections };
    });
  const files: SelectionFigures['files'] = [];
  for (const curve of ['insertion', 'deletion'] as const) {
    const title = curve === 'insertion' ? 'Patches inserted until the prediction is right (the paper\'s Fig. 11)' : 'Patches deleted until the prediction is wrong (the paper\'s Fig. 12)';
    const svg = patchSelectionSvg({ curve, grid, methods, rows: rowsFor(curve), title, encodePng, fontFamily: `${PLOT_FONT_FAMILY}, sans-serif` });
    files.push({ name: `selection-${curve}.svg`, bytes: svg }, { name: `selection-${curve}.png`, bytes: await rasterizeSvg(svg) });
  }
  return { files };
}

/** The run's --grid (evaluation.json), else a square grid of the records' players. */
function playerGrid(config: Record<string, unknown>, players: number): [number, number] | undefined {
  if (typeof config.grid === 'number' && config.grid * config.grid === players) return [config.grid, config.grid];
  const side = Math.round(Math.sqrt(players));
  return side * side === players ? [side, side] : undefined;
}
