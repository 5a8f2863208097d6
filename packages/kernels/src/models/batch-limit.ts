import { sizeClass } from '../gpu/buffer-pool.ts';
import type { GpuLimits } from '../gpu/device.ts';
import type { ImageClassifier } from './classifier.ts';

/** The largest batch one forward pass takes, and what bounds it. */
export interface BatchLimit {
  /** Largest number of images in one forward call. */
  images: number;
  /** Bytes of the whole-batch input buffer per image (float32). */
  bytesPerImage: number;
  /** The device limit the input buffer must fit. */
  limitName: 'maxStorageBufferBindingSize' | 'maxBufferSize';
  limitBytes: number;
}

/** The largest pooled buffer size (a size class, see sizeClass) that is at most `bytes`. */
function largestSizeClassWithin(bytes: number): number {
  const power = 2 ** Math.floor(Math.log2(bytes));
  const quarter = power / 4;
  const fitting = quarter >= 16 ? Math.floor(bytes / quarter) * quarter : power;
  return sizeClass(fitting) <= bytes ? fitting : power;
}

/**
 * Everything in a forward pass is chunked to the device's limits except the input: a
 * batch is uploaded as one buffer of B x C x H x W floats (pooled, so rounded up to a size
 * class). That buffer must fit maxBufferSize; a ResNet, and pixel masking on any model,
 * also bind it whole to a shader, so there it must fit maxStorageBufferBindingSize too.
 * Past this batch the forward pass fails on the device (validation errors), so callers
 * that let users pick a batch size check it first.
 */
export function largestForwardBatch(model: ImageClassifier, limits: GpuLimits, options: { pixelMasked?: boolean } = {}): BatchLimit {
  const [C, H, W] = model.inputShape;
  const bytesPerImage = C * H * W * 4;
  const bound = model.kind === 'resnet' || options.pixelMasked === true;
  const limitName = bound && limits.maxStorageBufferBindingSize < limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const limitBytes = limits[limitName];
  return { images: Math.floor(largestSizeClassWithin(limitBytes) / bytesPerImage), bytesPerImage, limitName, limitBytes };
}
