import { ranking, strongestGroups, workDone, type Attribution, type Explanation } from '@moxi/attrib';
import type { MaskMode } from '@moxi/kernels';
import { className } from './explain-inputs.ts';

/** What `moxi explain` says of one image besides its attribution: the report's context. */
export interface ReportContext {
  model: string;
  image: { path: string; index?: number | undefined };
  labels: readonly string[] | undefined;
  reward: string;
  maskMode: MaskMode;
  contrast: boolean;
  /** The image's share of the run's wall time. */
  seconds: number;
  heatmap: string | null;
}

/** One image's explanation as `moxi explain --json` (and --out-dir's JSON files) report it. */
export function explanationReport({ attribution, predicted, planned }: Explanation, c: ReportContext) {
  const label = (k: number) => c.labels?.[k];
  return {
    model: c.model,
    input: c.image.path,
    ...(c.image.index !== undefined ? { imageIndex: c.image.index } : {}),
    predicted,
    predictedLabel: label(predicted) ?? null,
    reward: c.reward,
    maskMode: c.maskMode,
    contrast: c.contrast,
    ...attribution,
    ...(attribution.order ? { ranks: ranksOf(attribution.order, attribution.grid[0] * attribution.grid[1]) } : {}),
    targetLabel: label(attribution.target) ?? null,
    ...(planned ? { planned } : {}),
    seconds: c.seconds,
    heatmap: c.heatmap,
  };
}

/** rank[p]: 1-based position of player p in the order, null when the order stopped before it. */
function ranksOf(order: readonly number[], players: number): Array<number | null> {
  const ranks = new Array<number | null>(players).fill(null);
  order.forEach((p, r) => (ranks[p] = r + 1));
  return ranks;
}

/** The lines `moxi explain` prints for one image: prediction, MoXI's picks and stop rule, or the highest scores, and the cost. */
export function explanationSummary(r: { predicted: number; predictedLabel: string | null; targetLabel: string | null; seconds: number; heatmap: string | null }, a: Attribution): string[] {
  const name = className;
  const lines = [
    `predicted ${name(r.predicted, r.predictedLabel)}; explaining ${name(a.target, r.targetLabel)} with ${a.method} on a ${a.grid.join('x')} grid`,
  ];
  if (a.order) {
    const N = a.grid[0] * a.grid[1];
    const stopStep = a.stopStep ?? a.order.length;
    const insertion = a.method === 'moxi-insertion';
    const target = name(a.target, r.targetLabel);
    const rule = insertion ? `the prediction was ${target}` : `the prediction was no longer ${target}`;
    lines.push(
      a.stopHeld
        ? `stop rule held at step ${stopStep} of ${N}: after ${insertion ? 'inserting' : 'deleting'} ${stopStep} patch${stopStep === 1 ? '' : 'es'} ${rule}`
        : `stop rule never held: ${insertion ? `the prediction was never ${target}` : `the prediction stayed ${target}`} in all ${a.order.length} steps`,
    );
    lines.push(`patches chosen (row-major), in order: ${a.order.slice(0, stopStep).join(', ')}; rewards ${a.rewards!.slice(0, stopStep).map((v) => v.toFixed(3)).join(', ')}`);
    if (a.order.length > stopStep) {
      const rest = a.order.slice(stopStep);
      const first = rest.slice(0, 12);
      lines.push(`full ranking continues (${rest.length} more): ${first.join(', ')}${rest.length > first.length ? `, ... (all ${a.order.length} in the JSON's order and ranks)` : ''}`);
    }
  } else {
    if (a.groups) {
      const shown = strongestGroups(a.groups).map((g) => `{${g.players.join(', ')}}: ${g.value.toFixed(3)}${g.standardError !== undefined ? ` \u00b1 ${g.standardError.toFixed(3)}` : ''}`);
      lines.push(`strongest groups of ${a.groups.length} (by |index|): ${shown.join(', ')}`);
    }
    lines.push(`highest scores: ${ranking(a).slice(0, 8).map((i) => `${i}: ${a.scores[i]!.toFixed(3)}`).join(', ')}`);
  }
  const work = workDone(a);
  lines.push(`${work} in ${r.seconds.toFixed(2)} s`);
  if (r.heatmap) lines.push(`heatmap written to ${r.heatmap}`);
  return lines;
}
