import { groupScoreName, needsGradients, type Attribution, type HeatmapColours, type MethodName } from '@moxi/attrib';
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
  element('legend-title').textContent = moxi ? 'MoXI pick order (badges): first pick red, last pale' : (LEGEND_TITLES[attribution.method] ?? signedTitle(attribution, reward));
  element('legend-low').textContent = moxi ? `pick ${attribution.order!.length}` : format(lo);
  element('legend-high').textContent = moxi ? 'pick 1' : format(hi);
}

/** What the colours of an unsigned method's map measure. */
const LEGEND_TITLES: Partial<Record<MethodName, string>> = {
  gradcam: 'Grad-CAM (ReLU of the class-weighted activations)',
  rollout: 'attention rollout: CLS attention to each token',
  chefer: 'Chefer relevance: gradient-weighted attention propagated to each token',
  rise: 'RISE: mean class probability of the masks keeping each pixel, over p',
  'rise-players': 'RISE: mean class probability of the masks keeping each patch, over p',
};

/** The signed methods' maps: red supports the class, blue opposes it. */
function signedTitle({ method, grid }: Attribution, reward: string): string {
  const what =
    groupScoreName(method, grid[0] * grid[1]) ?? (method.startsWith('interaction') ? 'interaction sum' : method === 'lime' ? 'LIME coefficient' : method === 'kernel-shap' ? 'KernelSHAP value' : 'Shapley value');
  if (needsGradients(method)) return `${method} (attribution to the logit, pixels summed per patch): red supports the class, blue opposes it`;
  return `${what} (${reward} reward): red supports the class, blue opposes it`;
}

function format(v: number): string {
  return Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3);
}
