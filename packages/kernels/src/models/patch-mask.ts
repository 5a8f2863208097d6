import { InputError } from '../io/input-error.ts';

/**
 * How a coalition of patches (the kept players) is shown to a model, one keep-list per
 * output row (docs/players-and-masking.md):
 * - token: only the kept patch tokens enter the transformer (removed, not zeroed);
 * - attention: all tokens flow, but from block `fromLayer` on, keys of removed patches
 *   get -inf before the softmax (fromLayer 0 is equivalent to token);
 * - pixel: pixels of removed patches are set to 0 in the normalised input.
 * Patch indices are row-major over the player grid; prefix tokens are never players.
 */
export type PatchMask =
  | { mode: 'token'; keep: ReadonlyArray<ReadonlyArray<number>> }
  | { mode: 'attention'; keep: ReadonlyArray<ReadonlyArray<number>>; fromLayer: number }
  | { mode: 'pixel'; keep: ReadonlyArray<ReadonlyArray<number>>; grid: [number, number] };

export type MaskMode = PatchMask['mode'];

/** How a model family hides patches unless told otherwise: ViTs drop tokens, CNNs zero pixels. */
export function defaultMaskModeOf(family: 'vit' | 'resnet'): MaskMode {
  return family === 'vit' ? 'token' : 'pixel';
}

export interface ForwardRequest {
  mask?: PatchMask;
  /**
   * Which input image each output row uses. Default: row r uses image r when there are as
   * many keep-lists as images, and image 0 for every row when there is one image.
   */
  rowImage?: ReadonlyArray<number>;
  /** Return each block's attention probabilities (attention rollout). */
  captureAttention?: boolean;
}

export interface ForwardResult {
  /** [rows, classes] row-major. */
  logits: Float32Array;
  rows: number;
  classes: number;
  /** Per block: [rows, heads, T, T]; only with captureAttention. */
  attention?: Float32Array[];
}

/** Resolves which image feeds each output row, with the defaults described above. */
export function resolveRowImages(images: number, request: ForwardRequest): number[] {
  const rows = request.mask ? request.mask.keep.length : images;
  if (request.rowImage) {
    if (request.rowImage.length !== rows) {
      throw new Error(`rowImage has ${request.rowImage.length} entries for ${rows} rows`);
    }
    for (const i of request.rowImage) {
      if (!Number.isInteger(i) || i < 0 || i >= images) throw new Error(`rowImage ${i} out of range for ${images} images`);
    }
    return [...request.rowImage];
  }
  if (rows === images) return Array.from({ length: rows }, (_, r) => r);
  if (images === 1) return new Array<number>(rows).fill(0);
  throw new Error(`${rows} keep-lists for ${images} images: give rowImage, or one keep-list per image`);
}

/** Sorted, de-duplicated patch indices; out-of-range indices are a user error. */
export function normalizeKeep(keep: ReadonlyArray<number>, players: number, what = 'keep'): number[] {
  for (const p of keep) {
    if (!Number.isInteger(p) || p < 0 || p >= players) {
      throw new InputError(what, `patch index ${p} is out of range (the grid has ${players} patches: 0..${players - 1})`);
    }
  }
  return [...new Set(keep)].sort((a, b) => a - b);
}
