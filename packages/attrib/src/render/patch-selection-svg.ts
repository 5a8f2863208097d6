import type { EvaluationMethod, RecordCurve } from '../eval/evaluation-record.ts';
import { METHOD_COLORS } from './curves-plot.ts';
import { escapeXml } from './heatmap-svg.ts';
import { base64, encodePngUncompressed, rgbToRgba, type RgbaImage, type RgbImage } from './png-encode.ts';

export type SelectionCurve = 'insertion' | 'deletion';

/**
 * The patches a curve had moved when the prediction first changed: for insertion, the first
 * j patches of the insertion order at the first j where the top-1 class is the label (the
 * patches inserted until the prediction is right); for deletion, the first j of the deletion
 * order at the first j where it is not (deleted until it is wrong). `undefined` when that
 * never happens along the curve.
 */
export function patchesUntilFlip(curve: SelectionCurve, order: readonly number[], points: RecordCurve): number[] | undefined {
  const flip = points.correct.findIndex((c) => (curve === 'insertion' ? c === 1 : c === 0));
  return flip < 0 ? undefined : order.slice(0, flip);
}

export interface PatchSelectionRow {
  /** The image as the model saw it (after resize and crop). */
  image: RgbImage;
  /** Its path in the data set. */
  name: string;
  label: string;
  /** Per method of `PatchSelectionFigure.methods`: the patches moved (undefined: the prediction never flipped; absent method: no record). */
  selections: Partial<Record<EvaluationMethod, number[] | undefined>>;
}

export interface PatchSelectionFigure {
  curve: SelectionCurve;
  /** Rows x columns of players over the image. */
  grid: [number, number];
  methods: readonly EvaluationMethod[];
  rows: readonly PatchSelectionRow[];
  title: string;
  /** PNG encoder for the embedded images (default: an uncompressed one). */
  encodePng?: (image: RgbaImage) => Uint8Array;
  fontFamily?: string;
}

const CELL = 132;
const GAP = 14;
const NAME_WIDTH = 150;
const HEADER = 92;
const CAPTION = 18;
/** Hidden pixels are drawn this dark: the model saw zeros there, the reader still sees the digit's outline. */
const HIDDEN_SHADE = 0.82;
const INSERTED_STROKE = '#1a9850';
const DELETED_STROKE = '#d73027';

/**
 * The paper's Fig. 11 (insertion) and Fig. 12 (deletion) as one SVG: one row per image, one
 * column per method. Insertion: the patches inserted until the prediction is right are
 * shown (green outline), the rest shaded as hidden. Deletion: the patches deleted until the
 * prediction is wrong are shaded and outlined red. Under each picture: how many patches.
 */
export function patchSelectionSvg(f: PatchSelectionFigure): string {
  const encode = f.encodePng ?? encodePngUncompressed;
  const [gh, gw] = f.grid;
  const width = NAME_WIDTH + f.methods.length * (CELL + GAP) + GAP;
  const height = HEADER + f.rows.length * (CELL + CAPTION + GAP) + GAP;
  const font = f.fontFamily ?? 'DejaVu Sans, sans-serif';
  const inserted = f.curve === 'insertion';
  const stroke = inserted ? INSERTED_STROKE : DELETED_STROKE;
  const legend = inserted
    ? 'shown, outlined: the patches inserted (in the method\'s order) until the top-1 class is the label; shaded: still hidden'
    : 'shaded, outlined: the patches deleted (in the method\'s order) until the top-1 class is no longer the label';
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(font)}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${GAP}" y="26" font-size="17" font-weight="bold">${escapeXml(f.title)}</text>`,
    `<rect x="${GAP}" y="40" width="14" height="14" fill="${inserted ? 'white' : '#333'}" stroke="${stroke}" stroke-width="2.5"/>`,
    `<text x="${GAP + 22}" y="52" font-size="12">${escapeXml(legend)}</text>`,
    ...f.methods.map((m, k) => `<text x="${NAME_WIDTH + k * (CELL + GAP) + CELL / 2}" y="${HEADER - 8}" font-size="13" text-anchor="middle" fill="${METHOD_COLORS[m]}" font-weight="bold">${escapeXml(m)}</text>`),
  ];
  f.rows.forEach((row, r) => {
    const y = HEADER + r * (CELL + CAPTION + GAP);
    const href = `data:image/png;base64,${base64(encode(rgbToRgba(row.image)))}`;
    parts.push(`<text x="${GAP}" y="${y + CELL / 2 - 6}" font-size="12">${escapeXml(shorten(row.name, 20))}</text>`);
    parts.push(`<text x="${GAP}" y="${y + CELL / 2 + 10}" font-size="12" fill="#555">label ${escapeXml(row.label)}</text>`);
    f.methods.forEach((method, k) => {
      const x = NAME_WIDTH + k * (CELL + GAP);
      const has = method in row.selections;
      const chosen = row.selections[method];
      const moved = new Set(chosen ?? []);
      const [ch, cw] = [CELL / gh, CELL / gw];
      parts.push(`<image x="${x}" y="${y}" width="${CELL}" height="${CELL}" preserveAspectRatio="none" style="image-rendering:pixelated" xlink:href="${href}"/>`);
      for (let p = 0; p < gh * gw; p++) {
        const shaded = inserted ? !moved.has(p) : moved.has(p);
        if (shaded && has) parts.push(`<rect x="${x + (p % gw) * cw}" y="${y + Math.floor(p / gw) * ch}" width="${cw}" height="${ch}" fill="black" fill-opacity="${HIDDEN_SHADE}"/>`);
      }
      for (const p of moved) parts.push(`<rect x="${x + (p % gw) * cw + 1}" y="${y + Math.floor(p / gw) * ch + 1}" width="${cw - 2}" height="${ch - 2}" fill="none" stroke="${stroke}" stroke-width="2"/>`);
      parts.push(`<rect x="${x}" y="${y}" width="${CELL}" height="${CELL}" fill="none" stroke="#999"/>`);
      const caption = !has ? 'no record' : chosen === undefined ? (inserted ? 'never right' : 'never wrong') : `${chosen.length} patch${chosen.length === 1 ? '' : 'es'}`;
      parts.push(`<text x="${x + CELL / 2}" y="${y + CELL + 14}" font-size="12" text-anchor="middle">${caption}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `…${text.slice(text.length - length + 1)}`;
}
