import { viridis } from './colormap.ts';
import { digitPixels, GLYPH_HEIGHT, textWidth } from './digits.ts';

/** RGBA, row-major, 4 bytes per pixel: what PNG encoders and canvases take. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

export interface HeatmapOptions {
  /** The pixels the model saw, RGB row-major. */
  image: { width: number; height: number; data: Uint8Array };
  grid: [number, number];
  /** One per cell, row-major. */
  scores: readonly number[];
  /** MoXI's selection order: the chosen cells get their rank drawn on them. */
  order?: readonly number[];
  /** Only these first entries of `order` are drawn and coloured (MoXI's stop step). */
  orderShown?: number;
  /** Overlay opacity in [0, 1]. */
  opacity?: number;
  /** The output is at least this wide (the image is upscaled by an integer factor). */
  minWidth?: number;
}

/**
 * The input image with one colour per player cell (viridis over the score range), the
 * cell grid, and for MoXI the selection order written on the chosen cells; cells outside
 * the chosen group stay uncoloured.
 */
export function renderHeatmap(o: HeatmapOptions): RgbaImage {
  const { image, grid: [gh, gw], scores } = o;
  const opacity = o.opacity ?? 0.55;
  const scale = Math.max(1, Math.ceil((o.minWidth ?? 448) / image.width));
  const width = image.width * scale;
  const height = image.height * scale;
  const data = new Uint8ClampedArray(width * height * 4);
  const shown = o.order ? new Set(o.order.slice(0, o.orderShown ?? o.order.length)) : undefined;
  const finite = scores.filter(Number.isFinite);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const colors = scores.map((s) => viridis(hi > lo ? (s - lo) / (hi - lo) : 1));
  const cellH = height / gh;
  const cellW = width / gw;
  for (let y = 0; y < height; y++) {
    const cy = Math.min(gh - 1, Math.floor(y / cellH));
    const sy = Math.floor(y / scale);
    for (let x = 0; x < width; x++) {
      const cx = Math.min(gw - 1, Math.floor(x / cellW));
      const cell = cy * gw + cx;
      const src = (sy * image.width + Math.floor(x / scale)) * 3;
      const alpha = shown && !shown.has(cell) ? 0 : opacity;
      const c = colors[cell]!;
      const o4 = (y * width + x) * 4;
      for (let k = 0; k < 3; k++) data[o4 + k] = image.data[src + k]! * (1 - alpha) + c[k]! * alpha;
      data[o4 + 3] = 255;
      const edge = y % cellH < 1 || x % cellW < 1;
      if (edge) for (let k = 0; k < 3; k++) data[o4 + k] = data[o4 + k]! * 0.5 + 255 * 0.5;
    }
  }
  if (o.order) drawOrder(data, width, o.order.slice(0, o.orderShown ?? o.order.length), [gh, gw], [cellH, cellW]);
  return { width, height, data };
}

/** Rank numbers (1-based) centred in their cells, white on a dark outline. */
function drawOrder(data: Uint8ClampedArray, width: number, order: readonly number[], [, gw]: [number, number], [cellH, cellW]: [number, number]): void {
  const height = data.length / 4 / width;
  order.forEach((cell, rank) => {
    const text = String(rank + 1);
    const size = Math.max(1, Math.floor(Math.min(cellH, cellW) / (GLYPH_HEIGHT * 2.5)));
    const left = Math.round((cell % gw) * cellW + (cellW - textWidth(text, size)) / 2);
    const top = Math.round(Math.floor(cell / gw) * cellH + (cellH - GLYPH_HEIGHT * size) / 2);
    const ink = digitPixels(text, size);
    const put = (x: number, y: number, v: number) => {
      if (x < 0 || y < 0 || x >= width || y >= height) return;
      const o = (y * width + x) * 4;
      data[o] = data[o + 1] = data[o + 2] = v;
    };
    for (const [dx, dy] of ink) for (let oy = -1; oy <= 1; oy++) for (let ox = -1; ox <= 1; ox++) put(left + dx + ox, top + dy + oy, 20);
    for (const [dx, dy] of ink) put(left + dx, top + dy, 255);
  });
}
