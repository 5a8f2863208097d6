import { comparedCurves, curveKeys, type ComparedRun } from '../eval/run-comparison.ts';
import { reportFigure, type CurvesPlotOptions, type VegaLiteSpec } from './curves-plot.ts';

/** One colour and dash pattern per run, in the order the runs are given (Tableau 10, colour-blind ordered). */
const RUN_COLORS = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];
const RUN_DASHES = [[1, 0], [7, 3], [2, 2], [9, 3, 2, 3], [4, 2, 1, 2], [12, 4], [1, 3], [6, 2, 2, 2], [3, 3], [10, 2, 2, 2, 2, 2]];

const PANEL_WIDTH = 230;
const PANEL_HEIGHT = 170;

/**
 * The compare figure: one panel per curve and method (insertion by masking first, then
 * deletion by masking and under each perturbation), the mean top-1 accuracy of every run
 * against the fraction of patches inserted or deleted, one colour and dash pattern per run
 * (alike in every panel), each panel's legend giving every run's AUC there. Runs with
 * different patch counts (models) share the x axis because it is a fraction. A curve only one
 * run has is left out of the figure (it is in the table and the CSV).
 */
export function comparePlotSpec(runs: readonly ComparedRun[], options: CurvesPlotOptions = {}): VegaLiteSpec {
  if (runs.length > RUN_COLORS.length) throw new RangeError(`at most ${RUN_COLORS.length} runs can be told apart in one figure, got ${runs.length}`);
  const curves = comparedCurves(runs);
  const labels = runs.map((r) => r.label);
  const inPanelOf = (key: ReturnType<typeof curveKeys>[number]) => curves.filter((c) => c.method === key.method && c.perturbation === key.perturbation && c.curve === key.curve);
  // A curve only one run has compares nothing: it stays in compare.md and compare.csv, out of the figure (unless no curve is shared).
  const shared = curveKeys(runs).filter((key) => inPanelOf(key).length >= 2);
  const keys = shared.length > 0 ? shared : curveKeys(runs);
  const panels = keys.map((key, i) => {
    const inPanel = inPanelOf(key);
    const series = inPanel.map((c) => `${c.label} (AUC ${c.mean.accuracyAuc.toFixed(3)})`);
    const runIndex = inPanel.map((c) => labels.indexOf(c.label));
    const points = inPanel.flatMap((c, k) => c.mean.accuracy.map((y, j) => ({ series: series[k], x: j / c.players, y })));
    const scale = (range: unknown[]) => ({ domain: series, range });
    const what = key.curve === 'insertion' ? 'insertion' : key.perturbation === 'mask' ? 'deletion' : `deletion, ${key.perturbation}`;
    return {
      title: { text: `(${panelLetter(i)}) ${key.method}: ${what}`, fontSize: 13, anchor: 'start' },
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      data: { values: points },
      mark: { type: 'line', strokeWidth: 2, clip: true },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: `fraction of patches ${key.curve === 'insertion' ? 'inserted' : key.perturbation === 'mask' ? 'deleted' : 'perturbed'}`, scale: { domain: [0, 1] } },
        y: { field: 'y', type: 'quantitative', title: 'top-1 accuracy', scale: { domain: [0, 1] } },
        color: { field: 'series', type: 'nominal', sort: series, scale: scale(runIndex.map((r) => RUN_COLORS[r])), legend: { title: 'run', orient: 'bottom', direction: 'vertical' } },
        strokeDash: { field: 'series', type: 'nominal', sort: series, scale: scale(runIndex.map((r) => RUN_DASHES[r])), legend: { title: 'run', orient: 'bottom', direction: 'vertical' } },
      },
    };
  });
  return reportFigure({
    title: `${runs.length} runs compared: insertion and deletion curves`,
    subtitle: [`mean top-1 accuracy over each run's images; runs: ${runs.map((r) => `${r.label} (${r.summary.images} image${r.summary.images === 1 ? '' : 's'}, ${r.summary.players} patches)`).join(', ')}`],
    panels,
    columns: options.columns ?? 3,
    font: options.font,
    spacing: 30,
    legend: { labelLimit: 260 },
    resolve: { scale: { color: 'independent', strokeDash: 'independent' }, legend: { color: 'independent', strokeDash: 'independent' } },
  });
}

/** a..z, then aa, ab, ...: panels stay distinct past 26. */
function panelLetter(i: number): string {
  const letter = (k: number) => String.fromCharCode(97 + k);
  return i < 26 ? letter(i) : `${letter(Math.floor(i / 26) - 1)}${letter(i % 26)}`;
}
