import { PERTURBATIONS, type EvaluationMethod } from '../eval/evaluation-record.ts';
import type { EvaluationSummary, EvaluationSummaryRow } from '../eval/evaluation-summary.ts';

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
  gradcam: '#ff7f0e',
  rollout: '#8c564b',
  random: '#7f7f7f',
};

/** Solid lines, except the random floor: dashed, so it reads as a reference. */
const METHOD_DASHES: Readonly<Record<EvaluationMethod, number[]>> = {
  moxi: [1, 0],
  'shapley-self': [1, 0],
  'shapley-full': [1, 0],
  'shapley-sampling': [1, 0],
  gradcam: [1, 0],
  rollout: [1, 0],
  random: [6, 4],
};

export interface CurvesPlotOptions {
  /** Font family of every text (the renderer must be given the matching font file). */
  font?: string;
  /** Panels per row. */
  columns?: number;
}

interface Panel {
  title: string;
  xTitle: string;
  yTitle: string;
  points: Array<{ method: EvaluationMethod; x: number; y: number }>;
  /** Accuracy against a fraction, both in [0, 1]; otherwise a norm (from 0) against a patch rank (1..N). */
  unit: boolean;
}

const PANEL_WIDTH = 250;
const PANEL_HEIGHT = 190;

/**
 * The report's figure laid out as the paper's (Sec. 5, Fig. 15): (a) mean top-1 accuracy
 * against the fraction of patches inserted and (b) deleted, both by masking; then one
 * deletion panel per perturbation present; then, with PGD, the mean L2 norm of the
 * perturbation on each patch in deletion order. One line per method, coloured alike in
 * every panel.
 */
export function curvesPlotSpec(summary: EvaluationSummary, options: CurvesPlotOptions = {}): VegaLiteSpec {
  const panels = plotPanels(summary);
  const methods = [...new Set(summary.rows.map((r) => r.method))];
  const legend = { title: 'method', orient: 'right', symbolType: 'stroke', symbolStrokeWidth: 3, symbolSize: 320 };
  const panelSpecs = panels.map((p, i) => ({
    title: { text: `(${String.fromCharCode(97 + i)}) ${p.title}`, fontSize: 13, anchor: 'middle' },
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    data: { values: p.points },
    mark: { type: 'line', strokeWidth: 2, clip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: p.xTitle, ...(p.unit ? { scale: { domain: [0, 1] } } : { scale: { domain: [1, summary.players] }, axis: { tickMinStep: 1, format: 'd' } }) },
      y: { field: 'y', type: 'quantitative', title: p.yTitle, ...(p.unit ? { scale: { domain: [0, 1] } } : {}) },
      color: { field: 'method', type: 'nominal', sort: methods, scale: { domain: methods, range: methods.map((m) => METHOD_COLORS[m]) }, legend },
      strokeDash: { field: 'method', type: 'nominal', sort: methods, scale: { domain: methods, range: methods.map((m) => METHOD_DASHES[m]) }, legend },
    },
  }));
  const model = summary.model.split(/[\\/]/).filter(Boolean).pop() ?? summary.model;
  const font = options.font ?? 'sans-serif';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${model}: insertion and deletion curves, ${summary.images} images`,
      subtitle: `mean over images, ${summary.players} patches per image`,
      fontSize: 16,
      subtitleFontSize: 12,
      anchor: 'start',
      offset: 14,
    },
    background: 'white',
    padding: 12,
    columns: options.columns ?? Math.min(3, panels.length),
    concat: panelSpecs,
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
    config: {
      font,
      view: { stroke: '#9a9a9a' },
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e8e8e8', tickCount: 5 },
      legend: { labelFontSize: 12, titleFontSize: 12, rowPadding: 6 },
      concat: { spacing: 28 },
    },
  };
}

function plotPanels(summary: EvaluationSummary): Panel[] {
  const N = summary.players;
  const curve = (row: EvaluationSummaryRow, values: readonly number[]) => values.map((y, j) => ({ method: row.method, x: j / N, y }));
  const byPerturbation = (p: string) => summary.rows.filter((r) => r.perturbation === p);
  const panels: Panel[] = [];
  const mask = byPerturbation('mask');
  const insertion = mask.filter((r) => r.insertion);
  if (insertion.length > 0) {
    panels.push({ title: 'insertion', xTitle: 'fraction of patches inserted', yTitle: 'top-1 accuracy', unit: true, points: insertion.flatMap((r) => curve(r, r.insertion!.accuracy)) });
  }
  if (mask.length > 0) {
    panels.push({ title: 'deletion', xTitle: 'fraction of patches deleted', yTitle: 'top-1 accuracy', unit: true, points: mask.flatMap((r) => curve(r, r.deletion.accuracy)) });
  }
  for (const perturbation of PERTURBATIONS) {
    const rows = byPerturbation(perturbation);
    if (rows.length === 0) continue;
    panels.push({ title: `deletion, ${perturbation}`, xTitle: 'fraction of patches perturbed', yTitle: 'top-1 accuracy', unit: true, points: rows.flatMap((r) => curve(r, r.deletion.accuracy)) });
  }
  const pgd = summary.rows.filter((r) => r.perturbationNorms);
  if (pgd.length > 0) {
    panels.push({
      title: 'PGD perturbation norm per patch',
      xTitle: 'patch rank in deletion order',
      yTitle: 'mean L2 norm',
      unit: false,
      points: pgd.flatMap((r) => r.perturbationNorms!.map((y, i) => ({ method: r.method, x: i + 1, y }))),
    });
  }
  return panels;
}
