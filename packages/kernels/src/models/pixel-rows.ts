import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import { OptionError } from '../io/input-error.ts';
import { maskPixels } from '../ops/pixel-mask.ts';
import { normalizeKeep } from './patch-mask.ts';

/** The player grid must tile the image exactly (docs/players-and-masking.md: G divides H and W). */
export function checkPixelGrid([gh, gw]: readonly [number, number], [H, W]: readonly [number, number]): void {
  if (!Number.isInteger(gh) || !Number.isInteger(gw) || gh < 1 || gw < 1 || H % gh !== 0 || W % gw !== 0) {
    throw new OptionError('grid', `${gh}x${gw} does not divide the ${H}x${W} input into equal cells (choose a divisor of ${H} and ${W})`);
  }
}

/** Default pixel grid: 14 (the paper's), or the largest divisor of H and W below it. */
export function defaultPixelGrid(H: number, W: number): [number, number] {
  for (let g = 14; g > 1; g--) if (H % g === 0 && W % g === 0) return [g, g];
  return [1, 1];
}

/**
 * Builds rows [first, last) of a pixel-masked batch on the GPU: row r shows image
 * rowImage[r] with the cells outside keep[r] zeroed (keep undefined: every cell shown).
 */
export function maskedRows(
  engine: GpuEngine,
  images: GpuTensor,
  rowImage: readonly number[],
  keep: ReadonlyArray<ReadonlyArray<number>> | undefined,
  grid: [number, number],
  layout: 'nhwc' | 'nchw',
  first: number,
  last: number,
): GpuTensor {
  const cells = grid[0] * grid[1];
  const rows = last - first;
  const flags = new Uint32Array(rows * cells);
  for (let r = 0; r < rows; r++) {
    if (!keep) flags.fill(1, r * cells, (r + 1) * cells);
    else for (const p of normalizeKeep(keep[first + r]!, cells)) flags[r * cells + p] = 1;
  }
  // The row tables are freed once the masking kernel is recorded.
  return engine.scope(() => {
    const rowTensor = engine.upload(Uint32Array.from(rowImage.slice(first, last)), [rows]);
    const keepTensor = engine.upload(flags, [rows, cells]);
    return maskPixels(engine, images, { rowImage: rowTensor, keep: keepTensor, grid }, layout);
  });
}
