import { PERTURBATIONS, type EvaluationMethod } from '../eval/evaluation-record.ts';
import type { EvaluationSummary, EvaluationSummaryRow, MeanCurve } from '../eval/evaluation-summary.ts';

/** A Vega-Lite specification as plain JSON (compiled and rendered by the caller). */
export type VegaLiteSpec = Record<string, unknown>;

/**
 * One colour per method in every report, whichever methods a run has: MoXI red as in the
 * paper's figures, the random floor grey.
 */
export const METHOD_COLORS: Readonly<Record<EvaluationMethod, string>> = {
  moxi: '#d62728',
  'shapley-self': '#1f77b4',
  'shapley-full': '#2ca02c',
  'shapley-sampling': '#9467bd',
  'kernel-shap': '#17becf',
  lime: '#bcbd22',
  'rise-players': '#e377c2',
  rise: '#393b79',
  gradcam: '#ff7f0e',
  'integrated-gradients': '#843c39',
  smoothgrad: '#de9ed6',
  'input-x-gradient': '#6b6ecf',
  rollout: '#8c564b',
  chefer: '#637939',
  random: '#7f7f7f',
};

/**
 * One dash pattern per method, so that curves stay apart in grey print and where two methods
 * draw the same curve: MoXI solid, the random floor finely dotted.
 */
export const METHOD_DASHES: Readonly<Record<EvaluationMethod, number[]>> = {
  moxi: [1, 0],
  'shapley-self': [7, 3],
  'shapley-full': [2, 2],
  'shapley-sampling': [9, 3, 2, 3],
  'kernel-shap': [6, 2, 2, 2, 2, 2],
  lime: [3, 3],
  'rise-players': [10, 2, 2, 2],
  rise: [5, 5],
  gradcam: [4, 2, 1, 2, 1, 2],
  'integrated-gradients': [8, 2],
  smoothgrad: [2, 4],
  'input-x-gradient': [6, 3, 1, 3],
  rollout: [12, 4],
  chefer: [12, 3, 3, 3],
  random: [1, 3],
};

/** One point marker per method, drawn at a few points of each curve (offset per method, so identical curves show both). */
export const METHOD_MARKERS: Readonly<Record<EvaluationMethod, string>> = {
  moxi: 'circle',
  'shapley-self': 'square',
  'shapley-full': 'triangle-up',
  'shapley-sampling': 'diamond',
  'kernel-shap': 'triangle-left',
  lime: 'M0,-1L0.3,-0.3L1,0L0.3,0.3L0,1L-0.3,0.3L-1,0L-0.3,-0.3Z',
  'rise-players': 'arrow',
  rise: 'wedge',
  gradcam: 'triangle-down',
  'integrated-gradients': 'M-1,0L-0.5,-0.87H0.5L1,0L0.5,0.87H-0.5Z',
  smoothgrad: 'M-0.3,-1H0.3V1H-0.3Z',
  'input-x-gradient': 'M-1,-0.3H1V0.3H-1Z',
  rollout: 'cross',
  chefer: 'M-1,-0.4H-0.4V-1H0.4V-0.4H1V0.4H0.4V1H-0.4V0.4H-1Z',
  random: 'triangle-right',
};

/** Markers per curve, about. */
const MARKERS_PER_CURVE = 8;

export interface CurvesPlotOptions {
  /** Font family of every text (the renderer must be given the matching font file). */
  font?: string;
  /** Panels per row. */
  columns?: number;
}

/** One point of a curve: `label` is the method with the curve's AUC, the legend's text. */
interface CurvePoint {
  method: EvaluationMethod;
  label: string;
  x: number;
  y: number;
  /** The 95% band at x (absent for the PGD norms). */
  lower?: number;
  upper?: number;
  /** A marker is drawn here. */
  marker: boolean;
}

interface Panel {
  title: string;
  xTitle: string;
  yTitle: string;
  /** Images averaged: one number, or a range when methods cover different images. */
  n: string;
  points: CurvePoint[];
  /** Accuracy or probability against a fraction, both in [0, 1]; otherwise a norm (from 0) against a patch rank (1..N). */
  unit: boolean;
  /** What the band is, for the legend title. */
  band?: string;
}

const PANEL_WIDTH = 250;
const PANEL_HEIGHT = 180;
const LEGEND_ROW = 17;
const LEGEND_WIDTH = 190;
const MARKER_SIZE = 40;
/** Bands of 7 methods overlap where the curves agree (all at 0 or 1): light, so the lines stay readable; MoXI's a little darker. */
const BAND_OPACITY = 0.06;
const MOXI_BAND_OPACITY = 0.14;

/**
 * A panel's legend, drawn as a small chart beside it: per method a short line in its dash
 * pattern with its marker, and its label ("moxi (AUC 0.962)"), in the figure's method order.
 */
function legendSpec(panel: Panel, methods: readonly EvaluationMethod[], style: { color: object; dash: object; shape: object }): object {
  const rows = methods.map((method, rank) => ({ method, rank, label: panel.points.find((q) => q.method === method)!.label }));
  const segment = rows.flatMap((r) => [{ ...r, x: 0 }, { ...r, x: 1 }]);
  const x = { field: 'x', type: 'quantitative', scale: { domain: [0, 8] }, axis: null };
  const y = { field: 'rank', type: 'quantitative', scale: { domain: [methods.length - 0.5, -1.5] }, axis: null };
  return {
    width: LEGEND_WIDTH,
    height: LEGEND_ROW * (methods.length + 1),
    view: { stroke: null },
    layer: [
      { data: { values: [{ x: 0, rank: -1, text: panel.band ? `method (band: 95% ${panel.band})` : 'method' }] }, mark: { type: 'text', align: 'left', baseline: 'middle', fontSize: 11, color: '#333' }, encoding: { x, y, text: { field: 'text' } } },
      { data: { values: segment }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, detail: { field: 'method' }, color: style.color, strokeDash: style.dash } },
      { data: { values: rows.map((r) => ({ ...r, x: 0.5 })) }, mark: { type: 'point', filled: true, size: MARKER_SIZE, opacity: 1 }, encoding: { x, y, color: style.color, shape: style.shape } },
      { data: { values: rows.map((r) => ({ ...r, x: 1.35 })) }, mark: { type: 'text', align: 'left', baseline: 'middle', fontSize: 11 }, encoding: { x, y, text: { field: 'label' } } },
    ],
    resolve: { scale: { x: 'shared', y: 'shared' } },
  };
}

/**
 * The report's figure laid out as the paper's (Sec. 5, Fig. 15): for insertion and deletion
 * by masking, then deletion with each perturbation present, two panels side by side: mean
 * top-1 accuracy (95% Wilson band) and mean probability of the label (95% bootstrap band over
 * images); then, with PGD, the mean L2 norm of the perturbation on each patch in deletion
 * order. One colour, dash pattern and marker per method, alike in every panel; MoXI drawn
 * last (on top); each panel's legend gives every method's AUC there, its title the images n.
 */
export function curvesPlotSpec(summary: EvaluationSummary, options: CurvesPlotOptions = {}): VegaLiteSpec {
  const panels = plotPanels(summary);
  const methods = [...new Set(summary.rows.map((r) => r.method))];
  const panelSpecs = panels.map((p, i) => {
    const inPanel = methods.filter((m) => p.points.some((q) => q.method === m));
    // Scales keyed by method, fixed ranges: every panel styles a method alike. No automatic
    // legends: each panel draws its own (dash, marker and colour per entry, with the AUC).
    const style = (range: (m: EvaluationMethod) => unknown) => ({ field: 'method', type: 'nominal', scale: { domain: methods, range: methods.map(range) }, legend: null });
    const color = style((m) => METHOD_COLORS[m]);
    const dash = style((m) => METHOD_DASHES[m]);
    const shape = style((m) => METHOD_MARKERS[m]);
    const x = { field: 'x', type: 'quantitative', title: p.xTitle, ...(p.unit ? { scale: { domain: [0, 1] } } : { scale: { domain: [1, summary.players] }, axis: { tickMinStep: 1, format: 'd' } }) };
    const y = { field: 'y', type: 'quantitative', title: p.yTitle, ...(p.unit ? { scale: { domain: [0, 1] } } : { scale: { zero: true } }) };
    const only = (m: EvaluationMethod) => ({ filter: `datum.method === '${m}'` });
    const layer: unknown[] = [];
    if (p.band) {
      const band = { x, y: { field: 'lower', type: 'quantitative' }, y2: { field: 'upper' }, color };
      layer.push({ transform: [{ filter: "datum.method !== 'moxi'" }], mark: { type: 'area', opacity: BAND_OPACITY, clip: true }, encoding: band });
      if (inPanel.includes('moxi')) layer.push({ transform: [only('moxi')], mark: { type: 'area', opacity: MOXI_BAND_OPACITY, clip: true }, encoding: band });
    }
    // Drawn in reverse legend order, so that the first method (MoXI) ends on top; every
    // marker above every line, so that a curve hidden under an identical one still shows its markers.
    const order = [...inPanel].reverse();
    for (const m of order) layer.push({ transform: [only(m)], mark: { type: 'line', strokeWidth: m === 'moxi' ? 2.4 : 1.8, clip: true }, encoding: { x, y, color, strokeDash: dash } });
    for (const m of order) layer.push({ transform: [only(m), { filter: 'datum.marker' }], mark: { type: 'point', filled: true, size: MARKER_SIZE, opacity: 1 }, encoding: { x, y, color, shape } });
    const plot = {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      data: { values: p.points },
      layer,
    };
    return {
      title: { text: `(${String.fromCharCode(97 + i)}) ${p.title}, n = ${p.n}`, fontSize: 13, anchor: 'start', offset: 8 },
      hconcat: [plot, legendSpec(p, inPanel, { color, dash, shape })],
      spacing: 6,
    };
  });
  const model = summary.model.split(/[\\/]/).filter(Boolean).pop() ?? summary.model;
  return reportFigure({
    title: `${model}: insertion and deletion curves, ${summary.images} image${summary.images === 1 ? '' : 's'}`,
    subtitle: [
      `mean over images, ${summary.players} patches per image; shaded: 95% intervals (accuracy: Wilson; probability: bootstrap over images); AUC: area under the mean curve`,
      // A figure seen without its summary.md still says that it is incomplete or mixed.
      ...(summary.warnings.length > 0 ? [`Warning${summary.warnings.length === 1 ? '' : `s (${summary.warnings.length}, see summary.md)`}: ${summary.warnings[0]}`] : []),
    ],
    panels: panelSpecs,
    columns: options.columns ?? 2,
    font: options.font,
    spacing: 40,
    legend: { rowPadding: 3 },
  });
}

/** The frame every report figure shares: title and subtitle, panels in columns, fonts and axes alike. */
export function reportFigure(f: { title: string; subtitle: string[]; panels: unknown[]; columns: number; font: string | undefined; spacing: number; legend?: object; resolve?: object }): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: f.title, subtitle: f.subtitle, subtitleColor: '#222', fontSize: 16, subtitleFontSize: 12, anchor: 'start', offset: 14 },
    background: 'white',
    padding: 12,
    columns: f.columns,
    concat: f.panels,
    ...(f.resolve ? { resolve: f.resolve } : {}),
    config: {
      font: f.font ?? 'sans-serif',
      view: { stroke: '#9a9a9a' },
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e8e8e8', tickCount: 5 },
      legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', ...f.legend },
      concat: { spacing: f.spacing },
    },
  };
}

function plotPanels(summary: EvaluationSummary): Panel[] {
  const N = summary.players;
  const methods = [...new Set(summary.rows.map((r) => r.method))];
  // Marker positions: about MARKERS_PER_CURVE per curve, at least as far apart as there are
  // methods, and shifted per method: no two methods share a marker position, so identical
  // curves still show every method's markers.
  const step = Math.max(1, methods.length, Math.round(N / MARKERS_PER_CURVE));
  const marked = (method: EvaluationMethod, j: number) => (j + Math.round((methods.indexOf(method) * step) / Math.max(1, methods.length))) % step === 0;
  const auc = (v: number) => `AUC ${v.toFixed(3)}`;
  const curve = (row: EvaluationSummaryRow, mean: MeanCurve, metric: 'accuracy' | 'probability'): CurvePoint[] => {
    const values = mean[metric];
    const band = metric === 'accuracy' ? mean.accuracyBand : mean.probabilityBand;
    const label = `${row.method} (${auc(metric === 'accuracy' ? mean.accuracyAuc : mean.probabilityAuc)})`;
    return values.map((y, j) => ({ method: row.method, label, x: j / N, y, lower: band.lower[j]!, upper: band.upper[j]!, marker: marked(row.method, j) }));
  };
  const imagesOf = (rows: readonly { images: number }[]) => {
    const counts = rows.map((r) => r.images);
    const [lo, hi] = [Math.min(...counts), Math.max(...counts)];
    return lo === hi ? String(lo) : `${lo}-${hi}`;
  };
  const byPerturbation = (p: string) => summary.rows.filter((r) => r.perturbation === p);
  const panels: Panel[] = [];
  const pair = (title: string, xTitle: string, rows: EvaluationSummaryRow[], pick: (r: EvaluationSummaryRow) => MeanCurve) => {
    const n = imagesOf(rows.map(pick));
    panels.push({ title: `${title}: accuracy`, xTitle, yTitle: 'top-1 accuracy', n, unit: true, band: 'Wilson', points: rows.flatMap((r) => curve(r, pick(r), 'accuracy')) });
    panels.push({ title: `${title}: probability`, xTitle, yTitle: 'label probability', n, unit: true, band: 'bootstrap', points: rows.flatMap((r) => curve(r, pick(r), 'probability')) });
  };
  const mask = byPerturbation('mask');
  const insertion = mask.filter((r) => r.insertion);
  if (insertion.length > 0) pair('insertion', 'fraction of patches inserted', insertion, (r) => r.insertion!);
  if (mask.length > 0) pair('deletion', 'fraction of patches deleted', mask, (r) => r.deletion);
  for (const perturbation of PERTURBATIONS) {
    const rows = byPerturbation(perturbation);
    if (rows.length > 0) pair(`deletion, ${perturbation}`, 'fraction of patches perturbed', rows, (r) => r.deletion);
  }
  const pgd = summary.rows.filter((r) => r.perturbationNorms);
  if (pgd.length > 0) {
    panels.push({
      title: 'PGD perturbation norm per patch',
      xTitle: 'patch rank in deletion order',
      yTitle: 'mean L2 norm',
      n: imagesOf(pgd),
      unit: false,
      points: pgd.flatMap((r) => r.perturbationNorms!.map((y, i) => ({ method: r.method, label: r.method, x: i + 1, y, marker: marked(r.method, i) }))),
    });
  }
  return panels;
}
