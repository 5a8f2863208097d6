import { InputError } from '../io/input-error.ts';
import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import type { HostTensor } from '../host-tensor.ts';
import type { ForwardRequest, ForwardResult, MaskMode } from './patch-mask.ts';
import type { GradientOptions, GradientResult, OutputGradient } from './gradient.ts';
import type { PreparedInput } from './prepared-input.ts';

/** Storage precision of weights and activations (arithmetic accumulates in f32 either way). */
/** How weights and activations are stored; f32 unless a caller asks for f16. */
export const PRECISIONS = ['f32', 'f16'] as const;
export type Precision = (typeof PRECISIONS)[number];
export const DEFAULT_PRECISION: Precision = 'f32';

/**
 * What explanation algorithms need from a model: its input, its classes, the default
 * grid of players, and a batched forward pass under a patch mask.
 */
export interface ImageClassifier {
  readonly kind: 'vit' | 'resnet';
  readonly engine: GpuEngine;
  readonly numClasses: number;
  /** [C, H, W] of one normalised input image. */
  readonly inputShape: [number, number, number];
  /** The natural player grid (the token grid of a ViT). */
  readonly grid: [number, number];
  readonly defaultMaskMode: MaskMode;
  readonly parameterCount: number;
  /**
   * Multiply-adds x 2 of one image; `keptPatches` (ViT token masking) counts only the patch
   * tokens a masked row keeps. CNNs cost the same whatever is masked.
   */
  flopsPerImage(keptPatches?: number): number;
  /** Uploads images once for many forward passes; release the result when done. */
  prepare(images: HostTensor): PreparedInput;
  forward(images: HostTensor | GpuTensor | PreparedInput, request?: ForwardRequest): Promise<ForwardResult>;
  /** Gradient of L(logits) with respect to unmasked input images (dL/dlogits from the callback). */
  gradient(images: HostTensor, outputGradient: OutputGradient, options?: GradientOptions): Promise<GradientResult>;
  destroy(): void;
}

/** Refuses a batch that is not [B, C, H, W] with the model's C, H and W, naming both shapes. */
export function checkInputShape(inputShape: readonly [number, number, number], shape: readonly number[]): void {
  const [C, H, W] = inputShape;
  if (shape.length !== 4 || shape[1] !== C || shape[2] !== H || shape[3] !== W) {
    throw new InputError('input', `shape [${shape.join(', ')}] does not fit the model, which takes [B, ${C}, ${H}, ${W}]`);
  }
}
