import { OptionError, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import { numberDefault } from '../explain-options.ts';
import type { CoalitionGame } from '../game.ts';
import { SeededRandom } from '../random.ts';
import { logProb } from '../reward.ts';
import { evaluateInChunks } from './shapley.ts';

/**
 * RISE (Petsiuk, Das and Saenko, 2018; docs/methods.md): `masks` random binary grids of
 * s x s cells, each cell kept with probability p, stretched over the image with a random
 * shift; the saliency of a position is sum_i P(target | x with mask i) M_i / (masks * p).
 *
 * Two forms share the mask draw:
 * - `rise` (pixels, any model): each grid is bilinearly upsampled to (s + 1) x cell pixels
 *   (cell = ceil(H / s)), cropped at a random shift in [0, cell), and multiplies the
 *   normalised input (hidden pixels become the data set's mean colour, as in RISE's code);
 *   a player's score is the mean saliency over its pixels.
 * - `rise-players` (the game's players, black box): the same stretch and shift on the
 *   player grid, each player taking the bit of the nearest cell (token removal and
 *   attention masking hide whole tokens, so masks must be binary); P is the target's
 *   probability on the coalition.
 */
export interface RiseOptions {
  masks?: number;
  /** s: cells per side of the low-resolution grid. */
  cells?: number;
  /** p: the probability a cell is kept. */
  probability?: number;
  seed?: number;
}

/** RISE's masks for ResNet-50 in the paper. */
export const RISE_DEFAULT_MASKS = 4000;
/** The option table's defaults: the paper's 7 x 7 grid (224 px images, cells of 32 px), p = 1/2. */
export const RISE_DEFAULT_CELLS = numberDefault('riseCells');
export const RISE_DEFAULT_PROBABILITY = numberDefault('riseProbability');
/** Masked images per forward pass of the pixel form. */
const IMAGES_PER_PASS = 32;

/** One mask's draw: the s x s cell bits and the shift in output units, from the seeded stream. */
export interface RiseDraw {
  bits: Uint8Array;
  shiftY: number;
  shiftX: number;
}

function settings(options: RiseOptions): Required<RiseOptions> {
  const s = options.cells ?? RISE_DEFAULT_CELLS;
  const p = options.probability ?? RISE_DEFAULT_PROBABILITY;
  if (!(p > 0)) throw new OptionError('riseProbability', 'must be above 0: RISE divides by it');
  return { masks: options.masks ?? RISE_DEFAULT_MASKS, cells: s, probability: p, seed: options.seed ?? 0 };
}

/** Cell size in output units along a side of `size` (RISE: ceil(size / s)). */
export const riseCellSize = (size: number, cells: number) => Math.ceil(size / cells);

/** The draws of a run: per mask s^2 bits (row-major), then the y and x shift in [0, cell). */
export function riseDraws(count: number, cells: number, probability: number, cellSize: [number, number], seed: number): RiseDraw[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => {
    const bits = Uint8Array.from({ length: cells * cells }, () => Number(random.next() < probability));
    const shiftY = Math.floor(random.next() * cellSize[0]);
    const shiftX = Math.floor(random.next() * cellSize[1]);
    return { bits, shiftY, shiftX };
  });
}

/**
 * A draw as an H x W pixel mask: the s x s bits resized bilinearly (half-pixel centres,
 * edges clamped, as torch's interpolate with align_corners=False) to (s + 1) * cell per
 * side, then the H x W window at the shift.
 */
export function risePixelMask(draw: RiseDraw, cells: number, [H, W]: [number, number]): Float32Array {
  const [ch, cw] = [riseCellSize(H, cells), riseCellSize(W, cells)];
  const [UH, UW] = [(cells + 1) * ch, (cells + 1) * cw];
  const axis = (out: number, up: number) => {
    // Source coordinate of output pixel `out` on the s-cell grid, clamped to the grid.
    const src = Math.min(cells - 1, Math.max(0, ((out + 0.5) * cells) / up - 0.5));
    const lo = Math.floor(src);
    return { lo, hi: Math.min(cells - 1, lo + 1), t: src - lo };
  };
  const mask = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const a = axis(y + draw.shiftY, UH);
    for (let x = 0; x < W; x++) {
      const b = axis(x + draw.shiftX, UW);
      const at = (r: number, c: number) => draw.bits[r * cells + c]!;
      const top = at(a.lo, b.lo) * (1 - b.t) + at(a.lo, b.hi) * b.t;
      const bottom = at(a.hi, b.lo) * (1 - b.t) + at(a.hi, b.hi) * b.t;
      mask[y * W + x] = top * (1 - a.t) + bottom * a.t;
    }
  }
  return mask;
}

/**
 * A draw on a gh x gw player grid: the players (row-major) kept. The s cells are stretched
 * over (s + 1) * cell players per side as for pixels, and a player takes the bit of the cell
 * whose stretched span holds its centre (nearest instead of bilinear upsampling).
 */
export function risePlayerCoalition(draw: RiseDraw, cells: number, [gh, gw]: [number, number]): number[] {
  const nearest = (at: number, shift: number, side: number) => {
    const up = (cells + 1) * riseCellSize(side, cells);
    return Math.min(cells - 1, Math.floor(((at + shift + 0.5) * cells) / up));
  };
  const kept: number[] = [];
  for (let r = 0; r < gh; r++)
    for (let c = 0; c < gw; c++) if (draw.bits[nearest(r, draw.shiftY, gh) * cells + nearest(c, draw.shiftX, gw)]) kept.push(r * gw + c);
  return kept;
}

/** sum_i P_i M_i / (masks * p), in float64. */
function accumulate(saliency: Float64Array, mask: ArrayLike<number>, probability: number, scale: number): void {
  for (let k = 0; k < saliency.length; k++) saliency[k]! += (probability * mask[k]!) / scale;
}

/** rise-players: the saliency of each player, from `masks` coalitions evaluated in chunks. */
export async function risePlayers(game: CoalitionGame, grid: [number, number], options: RiseOptions = {}): Promise<number[]> {
  const { masks, cells, probability, seed } = settings(options);
  const draws = riseDraws(masks, cells, probability, [riseCellSize(grid[0], cells), riseCellSize(grid[1], cells)], seed);
  const coalitions = draws.map((d) => risePlayerCoalition(d, cells, grid));
  const targetProbability = await evaluateInChunks(game, coalitions, 'targetProbability');
  const saliency = new Float64Array(game.players);
  const mask = new Float64Array(game.players);
  coalitions.forEach((coalition, i) => {
    mask.fill(0);
    for (const p of coalition) mask[p] = 1;
    accumulate(saliency, mask, targetProbability[i]!, masks * probability);
  });
  return Array.from(saliency);
}

export interface RisePixelResult {
  /** H x W saliency, row-major. */
  pixels: Float64Array;
  /** Mean saliency over each player's pixels, row-major over `grid`. */
  scores: number[];
  grid: [number, number];
  /** Masked images forwarded. */
  passes: number;
}

/** rise: pixel masks on one normalised image [1, C, H, W] of any model. */
export async function risePixels(model: ImageClassifier, image: HostTensor, target: number, grid: [number, number], options: RiseOptions = {}): Promise<RisePixelResult> {
  const { masks, cells, probability, seed } = settings(options);
  const [, H, W] = model.inputShape;
  const draws = riseDraws(masks, cells, probability, [riseCellSize(H, cells), riseCellSize(W, cells)], seed);
  return risePixelsFromDraws(model, image, target, grid, draws, cells, probability);
}

/** rise with the masks given (tests feed another implementation's draws). */
export async function risePixelsFromDraws(
  model: ImageClassifier,
  image: HostTensor,
  target: number,
  grid: [number, number],
  draws: readonly RiseDraw[],
  cells: number,
  probability: number,
): Promise<RisePixelResult> {
  const [C, H, W] = model.inputShape;
  const masks = draws.length;
  const saliency = new Float64Array(H * W);
  for (let first = 0; first < masks; first += IMAGES_PER_PASS) {
    const part = draws.slice(first, first + IMAGES_PER_PASS).map((d) => risePixelMask(d, cells, [H, W]));
    const data = new Float32Array(part.length * C * H * W);
    part.forEach((mask, b) => {
      for (let c = 0; c < C; c++)
        for (let k = 0; k < H * W; k++) data[(b * C + c) * H * W + k] = image.data[c * H * W + k]! * mask[k]!;
    });
    const { logits, classes } = await model.forward({ shape: [part.length, C, H, W], data });
    part.forEach((mask, b) => accumulate(saliency, mask, Math.exp(logProb(logits.subarray(b * classes, (b + 1) * classes), target)), masks * probability));
  }
  return { pixels: saliency, scores: meanPerCell(saliency, [H, W], grid), grid, passes: masks };
}

/** Mean of an H x W map over each cell of a gh x gw grid (pixel row y is in grid row floor(y gh / H), columns alike). */
export function meanPerCell(map: ArrayLike<number>, [H, W]: [number, number], [gh, gw]: [number, number]): number[] {
  const sums = new Float64Array(gh * gw);
  const counts = new Float64Array(gh * gw);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const cell = Math.min(gh - 1, Math.floor((y * gh) / H)) * gw + Math.min(gw - 1, Math.floor((x * gw) / W));
      sums[cell]! += map[y * W + x]!;
      counts[cell]! += 1;
    }
  return Array.from(sums, (s, k) => s / counts[k]!);
}
