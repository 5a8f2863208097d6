import type { MethodName } from '../attribution.ts';
import { resizeBilinear } from '../resize-bilinear.ts';
import { diverging, sequential } from './colormap.ts';

/** diverging: signed scores, centred on 0 (blue < 0 < red); sequential: unsigned, low to high. */
export type HeatmapScale = 'diverging' | 'sequential';

const isSmoothMethod = (m: MethodName) => m === 'gradcam' || m === 'rollout' || m === 'chefer';

/** The methods whose scores are signed (Shapley values and the fits of them, interactions); the others score from 0 up. */
const SIGNED_METHODS: ReadonlySet<MethodName> = new Set(['shapley-self', 'shapley-full', 'shapley-exact', 'shapley-sampling', 'kernel-shap', 'lime', 'interaction-self', 'interaction-full', 'shapley-interaction', 'shapley-taylor', 'integrated-gradients', 'smoothgrad', 'input-x-gradient']);

/** Signed scores get the diverging scale. */
export function defaultHeatmapScale(method: MethodName): HeatmapScale {
  return SIGNED_METHODS.has(method) ? 'diverging' : 'sequential';
}

export interface HeatmapColourOptions {
  method: MethodName;
  /** One per cell, row-major. */
  scores: readonly number[];
  /** MoXI's selection order: cells are coloured by rank; cells it never reached stay uncoloured. */
  order?: readonly number[];
  scale?: HeatmapScale;
  smooth?: boolean;
}

/**
 * How an explanation's cells are coloured, shared by every renderer (the CLI's SVG, the
 * page's canvas) so a score reads the same everywhere.
 */
export interface HeatmapColours {
  scale: HeatmapScale;
  /** Bilinear upsampling of the score grid (Grad-CAM, rollout) instead of blocks. */
  smooth: boolean;
  /** The values at the bottom and top of the colour bar. */
  domain: [number, number];
  /** The value a cell is coloured by (MoXI: its rank weight, the first pick highest), undefined when uncoloured. */
  cellValue(cell: number): number | undefined;
  /** Colour of a value on the bar. */
  colour(value: number): [number, number, number];
  /** Position of a value along the bar, 0 (bottom) to 1 (top). */
  position(value: number): number;
}

export function heatmapColours(o: HeatmapColourOptions): HeatmapColours {
  const scale = o.scale ?? defaultHeatmapScale(o.method);
  const smooth = o.smooth ?? isSmoothMethod(o.method);
  const moxi = o.order !== undefined;
  const ranked = o.order ?? [];
  const steps = ranked.length;
  // Rank weights: the first of `steps` picks weighs `steps`, the last 1 (the official code's heatmap over the ranking).
  const weight = new Map(ranked.map((cell, r) => [cell, steps - r] as const));
  const finite = o.scores.filter(Number.isFinite);
  const lo = finite.length ? Math.min(...finite) : 0;
  const hi = finite.length ? Math.max(...finite) : 0;
  let domain: [number, number];
  if (scale === 'diverging') {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    domain = [-m, m];
  } else if (moxi) {
    domain = [1, Math.max(2, steps)];
  } else {
    // Unsigned maps span their own range, as pytorch-grad-cam's min-max scaling; the bar's ticks keep the real values.
    domain = hi > lo ? [lo, hi] : [lo, lo + 1];
  }
  const position = (s: number) => (moxi && steps === 1 ? 1 : (s - domain[0]) / (domain[1] - domain[0]));
  const map = scale === 'diverging' ? diverging : sequential;
  return {
    scale,
    smooth,
    domain,
    cellValue: (cell) => {
      if (moxi) return weight.get(cell);
      const s = o.scores[cell];
      return s !== undefined && Number.isFinite(s) ? s : undefined;
    },
    colour: (s) => map(position(s)),
    position,
  };
}

/**
 * A w x h raster of the score grid upsampled bilinearly, cell centres as samples (half-pixel
 * alignment, as cv2.resize and torch's align_corners=False); non-finite scores count as `fallback`.
 */
export function smoothScores(scores: readonly number[], grid: readonly [number, number], w: number, h: number, fallback: number): number[] {
  return resizeBilinear(
    scores.map((s) => (Number.isFinite(s) ? s : fallback)),
    grid,
    [h, w],
  );
}
