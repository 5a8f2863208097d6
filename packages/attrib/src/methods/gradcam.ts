import type { CamLayer, HostTensor, ImageClassifier } from '@moxi/kernels';
import { resizeBilinear } from '../resize-bilinear.ts';
import { targetLogitGradient } from './logit-gradient.ts';

export interface GradCamOptions {
  /** Mean over horizontal flip x input multipliers {0.9, 1, 1.1}, maps un-flipped. */
  augSmooth?: boolean;
  /** First principal component of the weighted activations instead of their sum. */
  eigenSmooth?: boolean;
  /** Output grid; the CAM is resized bilinearly when its own grid differs. */
  grid?: [number, number];
}

export interface GradCamResult {
  scores: number[];
  grid: [number, number];
  /** Forward + backward passes run (6 with augSmooth). */
  passes: number;
}

const MULTIPLIERS = [0.9, 1, 1.1];

/**
 * Grad-CAM (docs/methods.md): weights w_c = mean over positions of dz_y/dA_c, map =
 * ReLU(sum_c w_c A_c), for a ViT's last norm1 output (prefix tokens dropped) or a CNN's
 * last stage. The target score is the logit z_y.
 */
export async function gradCam(model: ImageClassifier, image: HostTensor, target: number, options: GradCamOptions = {}): Promise<GradCamResult> {
  const runs = options.augSmooth ? [false, true].flatMap((flip) => MULTIPLIERS.map((m) => ({ flip, multiplier: m }))) : [{ flip: false, multiplier: 1 }];
  let sum: Float64Array | undefined;
  let camGrid: [number, number] = [1, 1];
  for (const run of runs) {
    const input = transform(image, run.flip, run.multiplier);
    const result = await model.gradient(input, targetLogitGradient(target), { captureCam: true });
    const cam = result.cam!;
    camGrid = cam.grid;
    let map = camMap(cam, options.eigenSmooth === true);
    if (run.flip) map = flipColumns(map, cam.grid);
    // pytorch-grad-cam scales each augmented run to [0, 1] before averaging.
    if (options.augSmooth) map = minMaxScale(map);
    sum ??= new Float64Array(map.length);
    map.forEach((v, i) => (sum![i]! += v / runs.length));
  }
  const grid = options.grid ?? camGrid;
  const scores = grid[0] === camGrid[0] && grid[1] === camGrid[1] ? Array.from(sum!) : resizeBilinear(Array.from(sum!), camGrid, grid);
  return { scores, grid, passes: runs.length };
}

/** The CAM of image 0 on its grid (ReLU applied). */
export function camMap(cam: CamLayer, eigenSmooth: boolean): number[] {
  const P = cam.grid[0] * cam.grid[1];
  const C = cam.channels;
  const at = (data: Float32Array, p: number, c: number) => data[(cam.skip + p) * C + c]!;
  const weights = new Float64Array(C);
  for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) weights[c]! += at(cam.gradient, p, c) / P;
  const weighted = Array.from({ length: P }, (_, p) => Float64Array.from({ length: C }, (_, c) => weights[c]! * at(cam.activation, p, c)));
  const map = eigenSmooth ? firstComponent(weighted) : weighted.map((row) => row.reduce((a, b) => a + b, 0));
  return map.map((v) => Math.max(0, v));
}

/**
 * Projection of the centred rows on the first right-singular vector (pytorch-grad-cam's
 * get_2d_projection), by power iteration on M^T M; the sign, which SVD leaves open, is
 * chosen so that the largest magnitude is positive.
 */
function firstComponent(rows: Float64Array[]): number[] {
  const P = rows.length;
  const C = rows[0]!.length;
  const mean = new Float64Array(C);
  for (const r of rows) r.forEach((v, c) => (mean[c]! += v / P));
  const m = rows.map((r) => r.map((v, c) => v - mean[c]!));
  const gram = Array.from({ length: C }, () => new Float64Array(C));
  for (const r of m) for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) gram[i]![j]! += r[i]! * r[j]!;
  let v: Float64Array = new Float64Array(C).fill(1 / Math.sqrt(C));
  for (let iteration = 0; iteration < 500; iteration++) {
    const next = gram.map((row) => row.reduce((s, g, j) => s + g * v[j]!, 0));
    const norm = Math.hypot(...next) || 1;
    v = Float64Array.from(next, (x) => x / norm);
  }
  const projection = m.map((r) => r.reduce((s, x, c) => s + x * v[c]!, 0));
  const lo = Math.min(...projection);
  const hi = Math.max(...projection);
  return Math.abs(lo) > Math.abs(hi) ? projection.map((x) => -x) : projection;
}

function transform(image: HostTensor, flip: boolean, multiplier: number): HostTensor {
  const [, C = 1, H = 1, W = 1] = image.shape;
  const data = new Float32Array(image.data.length);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) data[(c * H + y) * W + x] = multiplier * image.data[(c * H + y) * W + (flip ? W - 1 - x : x)]!;
  return { shape: image.shape, data };
}

function flipColumns(map: number[], [, gw]: [number, number]): number[] {
  return map.map((_, i) => map[Math.floor(i / gw) * gw + (gw - 1 - (i % gw))]!);
}

function minMaxScale(map: number[]): number[] {
  const lo = Math.min(...map);
  const hi = Math.max(...map);
  return map.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
}
