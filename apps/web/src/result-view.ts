import { Chart, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip, Legend as ChartLegend } from 'chart.js';
import { ranking, strongestGroups, workDone, type Attribution } from '@moxi/attrib';
import { classLabel, element, make } from './elements.ts';
import type { ExplainResult } from './worker/protocol.ts';

Chart.register(CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip, ChartLegend);

/** Scores as shown: four decimals (the tests read them back at that precision). */
export const formatScore = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

/** One explanation in words and numbers: summary, order and rewards, the score table, the MoXI steps. */
export class ResultView {
  private chart: Chart | undefined;
  onStep: (attribution: Attribution, shown: readonly number[] | undefined) => void = () => undefined;

  clear(): void {
    element('result-panel').hidden = true;
    this.chart?.destroy();
    this.chart = undefined;
  }

  show(result: ExplainResult, labels: readonly string[] | undefined): void {
    const { explanation, steps } = result;
    const a = explanation.attribution;
    element('result-panel').hidden = false;
    element('result-method').textContent = a.method;
    element('result-predicted').textContent = classLabel(explanation.predicted, labels);
    element('result-target').textContent = classLabel(a.target, labels);
    element('result-probability').textContent = explanation.probability.toFixed(4);
    element('result-grid').textContent = a.grid.join('x');
    const work = workDone(a);
    element('result-work').textContent = `${work} in ${(result.milliseconds / 1000).toFixed(2)} s`;

    const orderRow = element('order-row');
    orderRow.hidden = !a.order;
    if (a.order) {
      const stop = a.stopStep ?? a.order.length;
      const insertion = a.method === 'moxi-insertion';
      element('result-stop').textContent = a.stopHeld
        ? `stop rule held at step ${stop} of ${a.order.length}: after ${insertion ? 'inserting' : 'deleting'} ${stop} patch${stop === 1 ? '' : 'es'} the prediction ${insertion ? 'was' : 'was no longer'} ${a.target}`
        : `stop rule never held in ${a.order.length} steps`;
      element('result-order').textContent = a.order.join(', ');
      element('result-rewards').textContent = a.rewards!.map(formatScore).join(', ');
    }

    // shapley-interaction / shapley-taylor: the groups that act together, strongest first.
    element('groups-row').hidden = !a.groups;
    if (a.groups) {
      element('result-groups').textContent = strongestGroups(a.groups).map((g) => `{${g.players.join(', ')}}: ${formatScore(g.value)}${g.standardError !== undefined ? ` ± ${formatScore(g.standardError)}` : ''}`).join('; ');
    }

    const ranks = new Map((a.order ?? ranking(a)).map((p, r) => [p, r + 1] as const));
    element<HTMLTableElement>('scores').tBodies[0]!.replaceChildren(
      ...a.scores.map((s, p) =>
        make('tr', {}, [make('td', { textContent: String(p) }), make('td', { textContent: formatScore(s) }), make('td', { textContent: ranks.has(p) ? String(ranks.get(p)) : '' })]),
      ),
    );
    element('rank-heading').textContent = a.order ? 'MoXI pick' : 'rank by score';

    const stepsBox = element('steps');
    stepsBox.hidden = !steps;
    this.chart?.destroy();
    this.chart = undefined;
    if (!steps) {
      this.onStep(a, undefined);
      return;
    }
    const slider = element<HTMLInputElement>('step-slider');
    slider.min = '1';
    slider.max = String(steps.length);
    slider.value = String(a.stopStep ?? steps.length);
    this.chart = new Chart(element<HTMLCanvasElement>('reward-chart'), {
      type: 'line',
      data: {
        labels: steps.map((s) => String(s.step)),
        datasets: [
          { label: 'reward v(S)', data: steps.map((s) => s.reward), borderColor: '#b2182b', backgroundColor: '#b2182b', yAxisID: 'reward', pointRadius: 3 },
          { label: `p(class ${a.target})`, data: steps.map((s) => s.targetProbability), borderColor: '#2166ac', backgroundColor: '#2166ac', yAxisID: 'probability', pointRadius: 3, borderDash: [5, 4] },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { title: { display: true, text: `step (patches ${a.method === 'moxi-insertion' ? 'inserted' : 'deleted'})` } },
          reward: { position: 'left', title: { display: true, text: 'reward' } },
          probability: { position: 'right', min: 0, max: 1, grid: { drawOnChartArea: false }, title: { display: true, text: 'probability' } },
        },
      },
    });
    const showStep = () => {
      const t = Number(slider.value);
      const step = steps[t - 1]!;
      element('step-output').textContent = `${t} of ${steps.length}`;
      element('step-shown').textContent = step.shown.length ? step.shown.join(', ') : 'none';
      element('step-top').textContent = classLabel(step.top, labels);
      element('step-probability').textContent = step.targetProbability.toFixed(4);
      element('step-reward').textContent = formatScore(step.reward);
      const chart = this.chart!;
      for (const dataset of chart.data.datasets) (dataset as unknown as { pointRadius: number[] }).pointRadius = steps.map((_, k) => (k === t - 1 ? 7 : 3));
      chart.update();
      this.onStep(a, step.shown);
    };
    slider.oninput = showStep;
    showStep();
  }
}
