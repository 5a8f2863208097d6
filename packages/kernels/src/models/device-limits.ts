import { sizeClass } from '../gpu/buffer-pool.ts';
import type { GpuLimits } from '../gpu/device.ts';
import { mebibytes } from '../gpu/engine.ts';
import { bytesPerElement } from '../gpu/gpu-tensor.ts';
import { InputError } from '../io/input-error.ts';
import { largestProductColumns } from '../ops/matmul.ts';
import type { ImageClassifier, Precision } from './classifier.ts';

/**
 * A model or batch this device's limits cannot hold, refused before anything is uploaded;
 * the message gives the sizes and the limit. The CLI exits 2: the input does not fit.
 */
export class DeviceLimitError extends InputError {
  override readonly name: string = 'DeviceLimitError';
}

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

/** Where a model's largest single tensor is, and how many values it holds. */
export interface LargestTensor {
  path: string;
  values: number;
}

/** The largest Float32Array under a model's host weights (nested objects and arrays), with its path. */
export function largestWeight(weights: unknown): LargestTensor {
  let best: LargestTensor = { path: '', values: 0 };
  const visit = (value: unknown, path: string): void => {
    if (value instanceof Float32Array) {
      if (value.length > best.values) best = { path, values: value.length };
    } else if (Array.isArray(value)) value.forEach((v, i) => visit(v, path ? `${path}.${i}` : String(i)));
    else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k);
  };
  visit(weights, '');
  return best;
}

/** The largest activation one image or one sequence needs in a single buffer, in words for the message. */
export interface ActivationFootprint {
  floats: number;
  what: string;
}

/** What checkModelFitsDevice needs to know of a model. */
export interface ModelFootprint {
  /** The host weights (nested objects and arrays of Float32Array). */
  weights: unknown;
  precision: Precision;
  /** Whether the same model could load in f16 here (ViTs on adapters with shader-f16): the refusal then says if that fits. */
  f16Possible: boolean;
  activation: ActivationFootprint;
  /** Output features of the widest matrix product (the classifier head, or the MLP). */
  widestProduct: { columns: number; what: string };
}

/** Why the model cannot run on a device of these limits in this precision, or undefined. */
function misfit(limits: GpuLimits, model: ModelFootprint, precision: Precision): string | undefined {
  const binding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const limitText = `this device binds at most ${mebibytes(binding)} to a kernel (maxStorageBufferBindingSize)`;
  const weight = largestWeight(model.weights);
  const weightBytes = weight.values * bytesPerElement(precision);
  if (weightBytes > binding) {
    return `weight ${weight.path} holds ${weight.values.toLocaleString('en')} values, ${mebibytes(weightBytes)} in ${precision}; ${limitText}`;
  }
  if (model.activation.floats * 4 > binding) {
    return `${model.activation.what} needs ${mebibytes(model.activation.floats * 4)} in one buffer; ${limitText}, and a forward pass is not split below one image`;
  }
  const columns = largestProductColumns(limits);
  if (model.widestProduct.columns > columns) {
    return (
      `${model.widestProduct.what} has ${model.widestProduct.columns.toLocaleString('en')} outputs; a matrix product spreads them over at most ` +
      `${limits.maxComputeWorkgroupsPerDimension.toLocaleString('en')} workgroups (maxComputeWorkgroupsPerDimension), ${columns.toLocaleString('en')} outputs`
    );
  }
  return undefined;
}

/**
 * Refuses, before any upload, a model this device cannot run at all: every weight tensor is
 * bound whole to a kernel, and so is the largest activation of a single image or sequence
 * (forward passes are chunked down to one of those, no further); the widest matrix product
 * must fit one dimension of workgroups. Past any of them the first forward pass would fail
 * on the device. When f16 would fit where f32 does not, the message says so.
 */
export function checkModelFitsDevice(location: string, limits: GpuLimits, model: ModelFootprint): void {
  const problem = misfit(limits, model, model.precision);
  if (problem === undefined) return;
  const f16Fits = model.precision === 'f32' && model.f16Possible && misfit(limits, model, 'f16') === undefined;
  throw new DeviceLimitError(location, `${problem}${f16Fits ? '; in f16 precision it fits' : ''}`);
}

/** One of largestForwardBatch's limits in words: "4096.0 MiB (maxBufferSize)". */
function limitWords(fit: BatchLimit): string {
  return `${mebibytes(fit.limitBytes)} (${fit.limitName})`;
}

/**
 * A count of host images that one upload cannot hold: the fit to split them by (forward passes run
 * one group of images at a time, see forwardInImageGroups), else undefined.
 */
export function uploadOverflow(model: ImageClassifier, images: number, options: { pixelMasked?: boolean } = {}): BatchLimit | undefined {
  const fit = largestForwardBatch(model, model.engine.gpu.limits, options);
  return images > fit.images ? fit : undefined;
}

/**
 * prepare() keeps a batch on the device as one buffer, bound whole by pixel masking, so a
 * batch past that is refused with the numbers rather than split.
 */
export function refuseOversizedUpload(model: ImageClassifier, images: number, subject = 'input'): void {
  const fit = uploadOverflow(model, images, { pixelMasked: true });
  if (!fit) return;
  const [C, H, W] = model.inputShape;
  throw new DeviceLimitError(
    subject,
    `${images.toLocaleString('en')} images of ${C}x${H}x${W} need ${mebibytes(images * fit.bytesPerImage)} in one buffer; ` +
      `this device holds ${limitWords(fit)}, at most ${fit.images.toLocaleString('en')} images at once`,
  );
}
