import type { Attribution, HeatmapColours } from '@moxi/attrib';
import { element } from './elements.ts';

/** The heatmap's colour legend: the bar with its two ends, in the explanation's units. */
export function drawLegend(attribution: Attribution | undefined, colours: HeatmapColours | undefined, reward: string): void {
  const box = element('legend');
  box.hidden = !attribution || !colours;
  if (!attribution || !colours) return;
  const canvas = element<HTMLCanvasElement>('legend-bar');
  const ctx = canvas.getContext('2d')!;
  canvas.width = 256;
  canvas.height = 14;
  const [lo, hi] = colours.domain;
  for (let x = 0; x < canvas.width; x++) {
    ctx.fillStyle = `rgb(${colours.colour(lo + ((hi - lo) * (x + 0.5)) / canvas.width).join(',')})`;
    ctx.fillRect(x, 0, 1, canvas.height);
  }
  const moxi = attribution.order !== undefined;
  element('legend-title').textContent = moxi
    ? 'MoXI pick order (badges): first pick red, last pale'
    : attribution.method === 'gradcam'
      ? 'Grad-CAM (ReLU of the class-weighted activations)'
      : attribution.method === 'rollout'
        ? 'attention rollout: CLS attention to each token'
        : `${attribution.method.startsWith('interaction') ? 'interaction sum' : 'Shapley value'} (${reward} reward): red supports the class, blue opposes it`;
  element('legend-low').textContent = moxi ? `pick ${attribution.order!.length}` : format(lo);
  element('legend-high').textContent = moxi ? 'pick 1' : format(hi);
}

function format(v: number): string {
  return Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3);
}
