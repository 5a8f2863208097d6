/**
 * What preprocessing a model expects, as the config readers (preprocessing-from-timm.ts,
 * preprocessing-from-hugging-face.ts) describe it and preprocess.ts applies it.
 */
import type { ResampleFilter } from './resample.ts';

export type ResizeSpec =
  /** torchvision Resize(int) / HF shortest_edge: the short side becomes `size`, the long side int(size * long / short). */
  | { mode: 'shortest-edge'; size: number }
  /** Both sides set, aspect ratio not kept. */
  | { mode: 'exact'; height: number; width: number }
  /**
   * timm ResizeKeepRatio (its non-square eval path): scale by the smaller of
   * height / target height and width / target width, sides rounded half to even.
   */
  | { mode: 'keep-ratio'; height: number; width: number };

/**
 * Which library's offsets to use. torchvision starts the crop at round((size - crop) / 2)
 * with Python's half-to-even round and pads floor(excess / 2) before the image;
 * transformers starts at floor((size - crop) / 2) and pads ceil(excess / 2). They differ
 * whenever size - crop is 3 mod 4 (e.g. 227 -> 224: torchvision skips 2 rows, HF 1).
 */
export type CropConvention = 'torchvision' | 'transformers';

export interface CenterCrop {
  height: number;
  width: number;
  convention: CropConvention;
}

export interface Preprocessing {
  /** [height, width] of the tensor the model takes. */
  inputSize: [number, number];
  resize: ResizeSpec | null;
  interpolation: ResampleFilter;
  centerCrop: CenterCrop | null;
  mean: [number, number, number];
  std: [number, number, number];
  /** Multiplies the 0..255 pixel values before normalization (1/255, or 1 when HF skips rescaling). */
  rescale: number;
}
