import type { MethodName } from '../attribution.ts';
import type { RewardKind } from '../reward.ts';
import { optionDefault } from '../explain-options.ts';
import { MAX_EXACT_INTERACTION_PLAYERS } from '../methods/higher-order-interactions.ts';
import { DIVERGING_STOPS, SEQUENTIAL_STOPS } from './colormap.ts';
import { heatmapColours, smoothScores, type HeatmapScale } from './heatmap-colours.ts';
import { base64, encodePngUncompressed, rgbToRgba, type RgbaImage, type RgbImage } from './png-encode.ts';

export type { RgbaImage, RgbImage } from './png-encode.ts';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface HeatmapSvgOptions {
  /** The pixels the model saw (after resize and crop), RGB row-major. */
  image: RgbImage;
  grid: [number, number];
  /** One per cell, row-major. */
  scores: readonly number[];
  method: MethodName;
  /**
   * MoXI's selection order: the ranked cells are coloured by rank and get a numbered badge
   * (cells it never reached stay uncoloured).
   */
  order?: readonly number[];
  /**
   * MoXI's stop step: the first this many of `order` are the chosen group. When `order`
   * goes on (a full ranking), the group is outlined and the step marked on the colour bar.
   */
  orderShown?: number;
  /** Overlay opacity in [0, 1]. */
  opacity?: number;
  title: string;
  subtitle?: string;
  /** The colour bar's caption. */
  scoreLabel?: string;
  /** Default: diverging for Shapley values and interactions, sequential otherwise. */
  scale?: HeatmapScale;
  /** Bilinear upsampling of the score grid (default: gradcam and rollout) instead of blocks. */
  smooth?: boolean;
  /**
   * Draw over the original picture instead of `image`: `crop` is where the model's input
   * lies in the picture's pixels (it may reach past the picture when the crop padded).
   */
  original?: { image: RgbImage; crop: Rect };
  /** The image area is at least this wide (default 448), and every cell at least 40 wide. */
  minWidth?: number;
  /** PNG encoder for the embedded rasters (default: an uncompressed one). */
  encodePng?: (image: RgbaImage) => Uint8Array;
  /** Font family of every text; the renderer must have it (default DejaVu Sans, then sans-serif). */
  fontFamily?: string;
  /** At most this many MoXI badges (the first picks), default 25. */
  maxBadges?: number;
}

export interface HeatmapLayout {
  width: number;
  height: number;
  /** Where the backdrop is drawn. */
  area: Rect;
  /** Where the score grid is drawn (the area itself, or the crop's rectangle over the original). */
  heat: Rect;
  /** The colour bar: its top is the highest score. */
  colorbar: Rect;
  /** Top edge of the image area: everything above is title and subtitle. */
  titleBandHeight: number;
  scale: HeatmapScale;
  smooth: boolean;
  /** Score range the colours span (bottom and top of the colour bar). */
  domain: [number, number];
  /** Badge rectangles of the MoXI picks, in pick order. */
  badges: Array<Rect & { cell: number; step: number }>;
}

const MARGIN = 16;
const TITLE_SIZE = 17;
const SUBTITLE_SIZE = 12.5;
const MIN_CELL = 40;
const BAR_WIDTH = 16;
const TICK_SIZE = 11;

/**
 * The explanation heatmap as a standalone SVG document: a title band (title, subtitle),
 * the image with one colour per player cell (blocks, or a bilinear map for Grad-CAM and
 * rollout), the patch grid, numbered badges on MoXI's picks, and a colour bar with tick
 * labels. Signed scores use a diverging scale symmetric around 0; others a sequential one.
 * Pure string building: no DOM, no canvas; rasters (the image, a smooth map) are embedded
 * as PNG data URIs made by `encodePng`.
 */
/** The heatmap's overlay opacity unless told otherwise: the CLI's --opacity and the page's slider start here. */
export const DEFAULT_HEATMAP_OPACITY = 0.55;

export function heatmapSvg(o: HeatmapSvgOptions): { svg: string; layout: HeatmapLayout } {
  const [gh, gw] = o.grid;
  const N = gh * gw;
  if (o.scores.length !== N) throw new Error(`heatmapSvg: ${o.scores.length} scores for a ${gh}x${gw} grid`);
  const opacity = o.opacity ?? DEFAULT_HEATMAP_OPACITY;
  const colours = heatmapColours(o);
  const { scale, smooth, domain } = colours;
  const encode = o.encodePng ?? encodePngUncompressed;
  const font = o.fontFamily ?? "'DejaVu Sans', sans-serif";
  const minWidth = o.minWidth ?? 448;
  const moxi = o.order !== undefined;
  const ranked = o.order ?? [];
  const steps = ranked.length;
  const stop = Math.min(steps, o.orderShown ?? steps);
  const tOf = colours.position;
  const colorOf = colours.colour;

  // Geometry: the backdrop area, the grid's rectangle in it, the bar to the right; laid
  // out from y = 0 first, then moved below the title band once its lines are known.
  let area: Rect;
  let heat: Rect;
  let backdrop: { image: RgbImage; rect: Rect; pixelated: boolean };
  if (o.original) {
    const { image: pic, crop } = o.original;
    const ux0 = Math.min(0, crop.x);
    const uy0 = Math.min(0, crop.y);
    const ux1 = Math.max(pic.width, crop.x + crop.width);
    const uy1 = Math.max(pic.height, crop.y + crop.height);
    const k = Math.max(minWidth, Math.ceil((gw * MIN_CELL * (ux1 - ux0)) / crop.width)) / (ux1 - ux0);
    area = { x: MARGIN, y: 0, width: (ux1 - ux0) * k, height: (uy1 - uy0) * k };
    heat = { x: area.x + (crop.x - ux0) * k, y: area.y + (crop.y - uy0) * k, width: crop.width * k, height: crop.height * k };
    backdrop = { image: pic, rect: { x: area.x - ux0 * k, y: area.y - uy0 * k, width: pic.width * k, height: pic.height * k }, pixelated: false };
  } else {
    const k = Math.max(1, Math.ceil(Math.max(minWidth, gw * MIN_CELL) / o.image.width));
    area = { x: MARGIN, y: 0, width: o.image.width * k, height: o.image.height * k };
    heat = area;
    backdrop = { image: o.image, rect: area, pixelated: true };
  }
  const cellW = heat.width / gw;
  const cellH = heat.height / gh;

  // The colour bar and its labels.
  const bar: Rect = { x: area.x + area.width + 20, y: 0, width: BAR_WIDTH, height: Math.max(area.height, 160) };
  const ticks = moxi ? stepTicks(steps) : numericTicks(domain);
  const tickText = [...ticks.map((t) => t.label), ...(moxi && stop < steps ? ['stop'] : [])];
  const labelsWidth = Math.max(...tickText.map((t) => textWidth(t, TICK_SIZE)), 0);
  const captionX = bar.x + bar.width + 8 + labelsWidth + 10 + TICK_SIZE;
  let width = captionX + (o.scoreLabel ? 6 : 0) + MARGIN;

  // The title shrinks (then is cut) to fit, and may widen the figure a little; the
  // subtitle wraps at "; " onto a second line.
  const room = Math.max(width - 2 * MARGIN, Math.min(textWidth(o.title, TITLE_SIZE, true), 1.3 * (width - 2 * MARGIN)));
  width = Math.ceil(Math.max(width, room + 2 * MARGIN));
  const title = fitText(o.title, TITLE_SIZE, room, true);
  const subtitleLines = o.subtitle ? wrapText(o.subtitle, SUBTITLE_SIZE, room, 2).map((line) => fitText(line, SUBTITLE_SIZE, room, false)) : [];
  const titleBandHeight = Math.ceil(MARGIN + TITLE_SIZE + 6 + subtitleLines.length * (SUBTITLE_SIZE + 5) + 10);
  for (const r of [area, bar, ...(heat === area ? [] : [heat]), ...(backdrop.rect === area ? [] : [backdrop.rect])]) r.y += titleBandHeight;
  const height = Math.ceil(Math.max(area.y + area.height, bar.y + bar.height) + MARGIN);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${f(height)}" viewBox="0 0 ${width} ${f(height)}" font-family="${escapeXml(font)}">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  parts.push(`<text x="${MARGIN}" y="${MARGIN + TITLE_SIZE - 3}" font-size="${title.size}" font-weight="bold" fill="#111111">${escapeXml(title.text)}</text>`);
  subtitleLines.forEach((line, i) => {
    const y = MARGIN + TITLE_SIZE + 6 + SUBTITLE_SIZE - 2 + i * (SUBTITLE_SIZE + 5);
    parts.push(`<text x="${MARGIN}" y="${y}" font-size="${line.size}" fill="#444444">${escapeXml(line.text)}</text>`);
  });

  // Backdrop.
  parts.push(`<defs><clipPath id="area"><rect x="${f(area.x)}" y="${f(area.y)}" width="${f(area.width)}" height="${f(area.height)}"/></clipPath></defs>`);
  parts.push(`<g clip-path="url(#area)">`);
  parts.push(`<rect x="${f(area.x)}" y="${f(area.y)}" width="${f(area.width)}" height="${f(area.height)}" fill="#000000"/>`);
  parts.push(imageElement(backdrop.rect, rgbToRgba(backdrop.image), encode, backdrop.pixelated));

  // Scores.
  if (smooth) {
    const w = Math.max(1, Math.round(heat.width));
    const h = Math.max(1, Math.round(heat.height));
    const raster = new Uint8ClampedArray(w * h * 4);
    const alpha = Math.round(opacity * 255);
    const values = smoothScores(o.scores, o.grid, w, h, domain[0]);
    values.forEach((s, i) => {
      const [cr, cg, cb] = colorOf(s);
      raster.set([cr, cg, cb, alpha], i * 4);
    });
    parts.push(imageElement(heat, { width: w, height: h, data: raster }, encode, false));
  } else {
    parts.push(`<g shape-rendering="crispEdges" fill-opacity="${f(opacity)}">`);
    for (let cell = 0; cell < N; cell++) {
      const value = colours.cellValue(cell);
      if (value === undefined) continue;
      const [x0, y0, x1, y1] = cellBox(heat, cellW, cellH, cell, gw);
      parts.push(`<rect x="${f(x0)}" y="${f(y0)}" width="${f(x1 - x0)}" height="${f(y1 - y0)}" fill="${hex(colorOf(value))}"/>`);
    }
    parts.push(`</g>`);
    // The player grid: patch-level scores are constant per cell, and the lines say where cells end.
    const lines: string[] = [];
    for (let c = 1; c < gw; c++) lines.push(`M${f(heat.x + c * cellW)} ${f(heat.y)}V${f(heat.y + heat.height)}`);
    for (let r = 1; r < gh; r++) lines.push(`M${f(heat.x)} ${f(heat.y + r * cellH)}H${f(heat.x + heat.width)}`);
    if (lines.length) parts.push(`<path d="${lines.join('')}" stroke="#ffffff" stroke-opacity="0.45" stroke-width="1" fill="none"/>`);
  }
  if (o.original) {
    // Dim what the model never saw and frame what it did.
    const a = area;
    parts.push(
      `<path fill-rule="evenodd" fill="#000000" fill-opacity="0.45" d="M${f(a.x)} ${f(a.y)}h${f(a.width)}v${f(a.height)}h${f(-a.width)}Z M${f(heat.x)} ${f(heat.y)}h${f(heat.width)}v${f(heat.height)}h${f(-heat.width)}Z"/>`,
    );
    parts.push(`<rect x="${f(heat.x - 1.5)}" y="${f(heat.y - 1.5)}" width="${f(heat.width + 3)}" height="${f(heat.height + 3)}" fill="none" stroke="#000000" stroke-opacity="0.6" stroke-width="1"/>`);
    parts.push(`<rect x="${f(heat.x)}" y="${f(heat.y)}" width="${f(heat.width)}" height="${f(heat.height)}" fill="none" stroke="#ffffff" stroke-width="2" stroke-dasharray="6 4"/>`);
  }
  parts.push(`</g>`);

  // MoXI badges: top-left corner of each picked cell, white on a dark pill with a light outline.
  const badges: HeatmapLayout['badges'] = [];
  if (moxi && stop < steps) {
    // A full ranking: outline the group chosen by the stop rule.
    const box = ranked.slice(0, stop).map((cell) => {
      const [x0, y0, x1, y1] = cellBox(heat, cellW, cellH, cell, gw);
      return `M${f(x0 + 1.5)} ${f(y0 + 1.5)}H${f(x1 - 1.5)}V${f(y1 - 1.5)}H${f(x0 + 1.5)}Z`;
    });
    parts.push(`<path class="chosen" d="${box.join('')}" fill="none" stroke="#ffffff" stroke-width="3"/>`);
  }
  if (moxi) {
    const pillH = Math.min(22, Math.max(12, Math.round(Math.min(cellW, cellH) * 0.3)));
    const size = Math.round(pillH * 0.72);
    const inset = 3;
    ranked.slice(0, o.maxBadges ?? 25).forEach((cell, rank) => {
      const label = String(rank + 1);
      const pillW = Math.max(pillH, label.length * 0.7 * size + pillH * 0.6);
      const [x0, y0] = cellBox(heat, cellW, cellH, cell, gw);
      const b = { x: x0 + inset, y: y0 + inset, width: pillW, height: pillH, cell, step: rank + 1 };
      badges.push(b);
      parts.push(
        `<g class="badge"><rect x="${f(b.x)}" y="${f(b.y)}" width="${f(b.width)}" height="${f(b.height)}" rx="${f(pillH / 2)}" fill="#161616" fill-opacity="0.9" stroke="#ffffff" stroke-width="1.2"/>` +
          `<text x="${f(b.x + b.width / 2)}" y="${f(b.y + pillH / 2 + size * 0.36)}" font-size="${size}" font-weight="bold" text-anchor="middle" fill="#ffffff">${label}</text></g>`,
      );
    });
  }

  // Colour bar: top = high.
  const stops = scale === 'diverging' ? DIVERGING_STOPS : SEQUENTIAL_STOPS;
  if (moxi && steps <= 40) {
    // One swatch per step, step 1 (strongest) on top.
    const n = Math.max(1, steps);
    for (let i = 0; i < n; i++) {
      const y0 = bar.y + (i * bar.height) / n;
      const y1 = bar.y + ((i + 1) * bar.height) / n;
      parts.push(`<rect x="${f(bar.x)}" y="${f(y0)}" width="${bar.width}" height="${f(y1 - y0)}" fill="${hex(colorOf(n - i))}" shape-rendering="crispEdges"/>`);
    }
  } else {
    parts.push(`<defs><linearGradient id="bar" x1="0" y1="1" x2="0" y2="0">`);
    stops.forEach((c, i) => parts.push(`<stop offset="${f(i / (stops.length - 1))}" stop-color="${hex(c)}"/>`));
    parts.push(`</linearGradient></defs>`);
    parts.push(`<rect x="${f(bar.x)}" y="${f(bar.y)}" width="${bar.width}" height="${f(bar.height)}" fill="url(#bar)"/>`);
  }
  parts.push(`<rect x="${f(bar.x)}" y="${f(bar.y)}" width="${bar.width}" height="${f(bar.height)}" fill="none" stroke="#555555" stroke-width="1"/>`);
  const barY = (t: number) => bar.y + (1 - t) * bar.height;
  const stepY = (s: number) => (steps <= 40 ? bar.y + ((s - 0.5) / Math.max(1, steps)) * bar.height : barY(tOf(steps - s + 1)));
  if (moxi && stop < steps) {
    const y = (stepY(stop) + stepY(stop + 1)) / 2;
    parts.push(`<path d="M${f(bar.x - 3)} ${f(y)}H${f(bar.x + bar.width + 5)}" stroke="#111111" stroke-width="2"/>`);
    parts.push(`<text x="${f(bar.x + bar.width + 7)}" y="${f(y + TICK_SIZE * 0.36)}" font-size="${TICK_SIZE}" font-weight="bold" fill="#111111">stop</text>`);
  }
  const stopY = moxi && stop < steps ? (stepY(stop) + stepY(stop + 1)) / 2 : undefined;
  for (const tick of ticks) {
    const y = moxi ? stepY(tick.value) : barY(tOf(tick.value));
    if (stopY !== undefined && Math.abs(y - stopY) < TICK_SIZE + 1) continue;
    parts.push(`<path d="M${f(bar.x + bar.width)} ${f(y)}h4" stroke="#555555" stroke-width="1"/>`);
    parts.push(`<text x="${f(bar.x + bar.width + 7)}" y="${f(y + TICK_SIZE * 0.36)}" font-size="${TICK_SIZE}" fill="#222222">${escapeXml(tick.label)}</text>`);
  }
  if (o.scoreLabel) {
    const cy = bar.y + bar.height / 2;
    parts.push(`<text transform="translate(${f(captionX)} ${f(cy)}) rotate(-90)" text-anchor="middle" font-size="12" fill="#222222">${escapeXml(o.scoreLabel)}</text>`);
  }
  parts.push(`</svg>`);

  return {
    svg: parts.join('\n') + '\n',
    layout: { width, height: Math.ceil(height), area, heat, colorbar: bar, titleBandHeight, scale, smooth, domain, badges },
  };
}

function cellBox(heat: Rect, cellW: number, cellH: number, cell: number, gw: number): [number, number, number, number] {
  const r = Math.floor(cell / gw);
  const c = cell % gw;
  return [heat.x + c * cellW, heat.y + r * cellH, heat.x + (c + 1) * cellW, heat.y + (r + 1) * cellH];
}

function imageElement(rect: Rect, image: RgbaImage, encode: (i: RgbaImage) => Uint8Array, pixelated: boolean): string {
  const href = `data:image/png;base64,${base64(encode(image))}`;
  const rendering = pixelated ? ' image-rendering="optimizeSpeed"' : '';
  return `<image x="${f(rect.x)}" y="${f(rect.y)}" width="${f(rect.width)}" height="${f(rect.height)}" preserveAspectRatio="none"${rendering} href="${href}" xlink:href="${href}"/>`;
}


/** Ticks at round values (1, 2 or 5 times a power of ten) inside the domain; 0 among them when it is inside. */
export function numericTicks([lo, hi]: [number, number], count = 5): Array<{ value: number; label: string }> {
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * 0.999) ?? 10 * power;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const out: Array<{ value: number; label: string }> = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    const value = k * step;
    out.push({ value, label: formatNumber(value, decimals, step) });
  }
  return out;
}

function formatNumber(v: number, decimals: number, step: number): string {
  if (Math.abs(v) < step * 1e-6) return '0';
  const text = step < 1e-3 || step >= 1e6 ? v.toExponential(1) : v.toFixed(decimals);
  return text.replace('-', '\u2212');
}

/** MoXI's bar: one label per step when few, else every k-th plus the last. */
function stepTicks(steps: number): Array<{ value: number; label: string }> {
  if (steps <= 0) return [];
  const every = steps <= 12 ? 1 : Math.ceil(steps / 10);
  const values = [...Array(steps).keys()].map((i) => i + 1).filter((s) => s === 1 || s === steps || (s - 1) % every === 0);
  if (values.length >= 3 && values.at(-1)! - values.at(-2)! <= every / 2) values.splice(values.length - 2, 1);
  return values.map((s) => ({ value: s, label: ordinal(s) }));
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/** DejaVu Sans advance widths, roughly: about 0.6 em (0.66 bold) per character. */
function textWidth(text: string, size: number, bold = false): number {
  return [...text].length * size * (bold ? 0.66 : 0.6);
}

/** Splits at "; " into at most `lines` lines that fit `room` (the last one may not). */
function wrapText(text: string, size: number, room: number, lines: number): string[] {
  const pieces = text.split('; ');
  const out: string[] = [];
  for (const piece of pieces) {
    const last = out.length - 1;
    if (last >= 0 && (textWidth(`${out[last]}; ${piece}`, size) <= room || out.length >= lines)) out[last] = `${out[last]}; ${piece}`;
    else out.push(piece);
  }
  return out;
}

function fitText(text: string, size: number, room: number, bold: boolean): { text: string; size: number } {
  let s = size;
  while (s > 11 && textWidth(text, s, bold) > room) s -= 0.5;
  if (textWidth(text, s, bold) <= room) return { text, size: s };
  const chars = Math.max(1, Math.floor(room / (s * (bold ? 0.66 : 0.6))) - 1);
  return { text: `${[...text].slice(0, chars).join('')}\u2026`, size: s };
}

const f = (v: number) => String(Math.round(v * 100) / 100);
const hex = (c: readonly number[]) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
/** Text and attribute values in SVG. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface HeatmapCaptionInput {
  /** A short model name (its folder's name). */
  model: string;
  method: MethodName;
  grid: [number, number];
  target: number;
  /** The target's label name, when the model has labels. */
  label?: string;
  /** p(target) on the whole image. */
  probability?: number;
  predicted?: number;
  predictedLabel?: string;
  order?: readonly number[];
  stopStep?: number;
  /** MoXI: false when the stop rule never held (every patch was then taken). */
  stopHeld?: boolean;
  reward?: RewardKind;
  /** The reward contrasts the target with the predicted class (App. F): log-odds(predicted) - log-odds(target). */
  contrast?: boolean;
  /** Badges drawn at most (the figure's maxBadges). */
  maxBadges?: number;
}

const METHOD_TITLES: Record<MethodName, string> = {
  'moxi-insertion': 'MoXI insertion',
  'moxi-deletion': 'MoXI deletion',
  'shapley-self': 'Shapley values, self context',
  'shapley-full': 'Shapley values, full context',
  'shapley-exact': 'exact Shapley values',
  'shapley-sampling': 'sampled Shapley values',
  'kernel-shap': 'KernelSHAP',
  lime: 'LIME',
  'rise-players': 'RISE over the players',
  'interaction-self': 'interactions, self context',
  'interaction-full': 'interactions, full context',
  'shapley-interaction': 'Shapley interaction index',
  'shapley-taylor': 'Shapley-Taylor index',
  gradcam: 'Grad-CAM',
  rollout: 'attention rollout',
  chefer: 'Chefer relevance',
  rise: 'RISE',
  'integrated-gradients': 'integrated gradients',
  smoothgrad: 'SmoothGrad',
  'input-x-gradient': 'input \u00d7 gradient',
};

/**
 * What a player's score of shapley-interaction / shapley-taylor is (run-method's
 * groupInteractions): its order-1 term up to 12 players (the Shapley value; Shapley-Taylor's
 * v({i}) - v({})), else the full-context Shapley value that chose the estimated groups'
 * players. Undefined for the other methods.
 */
export function groupScoreName(method: MethodName, players: number): string | undefined {
  if (method !== 'shapley-interaction' && method !== 'shapley-taylor') return undefined;
  if (players > MAX_EXACT_INTERACTION_PLAYERS) return 'full-context Shapley value';
  return method === 'shapley-interaction' ? 'Shapley value' : 'own term v({i}) \u2212 v({})';
}

const REWARD_NAMES: Record<RewardKind, string> = { logodds: 'log-odds', logprob: 'log-probability', logit: 'logit' };

/** Title, subtitle and colour bar caption of an explanation heatmap. */
export function heatmapCaption(c: HeatmapCaptionInput): { title: string; subtitle: string; scoreLabel: string } {
  const className = (k: number, label?: string) => (label && label !== String(k) ? `${k} "${label}"` : String(k));
  const p = c.probability === undefined ? '' : c.probability < 0.001 ? ' (p < 0.001)' : ` (p = ${c.probability.toFixed(3)})`;
  const title = `${c.model}: ${METHOD_TITLES[c.method]} for class ${className(c.target, c.label)}${p}`;
  const [gh, gw] = c.grid;
  const N = gh * gw;
  const parts = [`${gh}x${gw} grid`];
  const reward = REWARD_NAMES[c.reward ?? (optionDefault('reward') as RewardKind)];
  let scoreLabel: string;
  if (c.order) {
    const ranked = c.order.length;
    const stop = c.stopStep ?? ranked;
    const verb = c.method === 'moxi-deletion' ? 'removed' : 'inserted';
    const held = c.stopHeld === false ? 'the stop rule never held' : `the stop rule held at step ${stop}`;
    if (ranked > stop) parts.push(`all ${ranked} patches ranked; ${held} (outlined)`);
    else if (c.stopHeld === false) parts.push(`all ${N} patches ${verb}, ${held}`);
    else parts.push(`${stop} of ${N} patches ${verb}, ${held}`);
    const badges = Math.min(ranked, c.maxBadges ?? 25);
    if (badges < ranked) parts.push(`badges on the first ${badges} picks`);
    scoreLabel = c.method === 'moxi-deletion' ? 'removal step' : 'insertion step';
  } else if (c.method === 'gradcam' || c.method === 'rollout' || c.method === 'chefer') {
    parts.push('upsampled bilinearly');
    scoreLabel = c.method === 'gradcam' ? 'Grad-CAM score' : c.method === 'rollout' ? 'rollout attention to the patch' : 'relevance of the patch';
  } else if (c.method === 'integrated-gradients' || c.method === 'smoothgrad' || c.method === 'input-x-gradient') {
    parts.push('red raises, blue lowers the logit (pixels summed over each patch)');
    scoreLabel = c.method === 'smoothgrad' ? 'mean gradient of the logit' : 'attribution to the logit';
  } else if (c.method === 'rise' || c.method === 'rise-players') {
    scoreLabel = 'mean probability of the masks keeping it, over p';
  } else {
    parts.push(
      c.contrast && c.predicted !== undefined
        ? `red raises, blue lowers log-odds(${c.predicted}) \u2212 log-odds(${c.target})`
        : `red raises, blue lowers the ${reward}`,
    );
    const named = groupScoreName(c.method, N) ?? (c.method.startsWith('shapley') ? 'Shapley value' : undefined);
    scoreLabel = named ? `${named} (${reward})` : `effect on the ${reward}`;
  }
  if (c.predicted !== undefined && c.predicted !== c.target) parts.push(`predicted: ${className(c.predicted, c.predictedLabel)}`);
  return { title, subtitle: parts.join('; '), scoreLabel };
}
