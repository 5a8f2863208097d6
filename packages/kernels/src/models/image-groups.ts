import { GpuTensor } from '../gpu/gpu-tensor.ts';
import { batchSlice, type HostTensor } from '../host-tensor.ts';
import { checkInputShape, type ImageClassifier } from './classifier.ts';
import { uploadOverflow } from './device-limits.ts';
import { PreparedInput } from './prepared-input.ts';
import { resolveRowImages, type ForwardRequest, type ForwardResult } from './patch-mask.ts';

/**
 * A model's forward pass over a host batch larger than one upload (largestForwardBatch), as
 * one pass per group of images, or undefined when the batch fits (or is already on the
 * device). Each output row goes with its image, its keep-list and its attention, so the
 * result is the one a single pass would give.
 */
export function forwardInImageGroups(model: ImageClassifier, images: HostTensor | GpuTensor | PreparedInput, request: ForwardRequest): Promise<ForwardResult> | undefined {
  if (images instanceof GpuTensor || images instanceof PreparedInput) return undefined;
  const overflow = uploadOverflow(model, images.shape[0]!, { pixelMasked: request.mask?.mode === 'pixel' });
  if (!overflow) return undefined;
  checkInputShape(model.inputShape, images.shape);
  return forwardGroups(images, request, overflow.images, model.numClasses, (group, part) => model.forward(group, part));
}

async function forwardGroups(
  images: HostTensor,
  request: ForwardRequest,
  imagesPerGroup: number,
  classes: number,
  forward: (images: HostTensor, request: ForwardRequest) => Promise<ForwardResult>,
): Promise<ForwardResult> {
  const count = images.shape[0]!;
  const rowImage = resolveRowImages(count, request);
  const result: ForwardResult = { logits: new Float32Array(rowImage.length * classes), rows: rowImage.length, classes };
  for (let first = 0; first < count; first += imagesPerGroup) {
    const last = Math.min(count, first + imagesPerGroup);
    const rows = rowImage.flatMap((image, r) => (image >= first && image < last ? [r] : []));
    if (rows.length === 0) continue;
    const group = batchSlice(images, first, last);
    const part: ForwardRequest = { rowImage: rows.map((r) => rowImage[r]! - first) };
    if (request.mask) part.mask = { ...request.mask, keep: rows.map((r) => request.mask!.keep[r]!) };
    if (request.captureAttention) part.captureAttention = true;
    const out = await forward(group, part);
    scatterHostRows(out.logits, rows, classes, result.logits);
    if (out.attention) result.attention ??= out.attention.map((a) => new Float32Array((a.length / out.rows) * rowImage.length));
    out.attention?.forEach((a, block) => {
      const perRow = a.length / out.rows;
      const all = result.attention![block]!;
      // Token masking gives each group its own sequence length; one result needs one.
      if (perRow * rowImage.length !== all.length) throw new Error('captureAttention across image groups needs one sequence length for every row');
      scatterHostRows(a, rows, perRow, all);
    });
  }
  return result;
}

/** Copies row j of `src` (rows of `width` values) to row rowIds[j] of `dst`. */
export function scatterHostRows(src: Float32Array, rowIds: readonly number[], width: number, dst: Float32Array): void {
  rowIds.forEach((r, j) => dst.set(src.subarray(j * width, (j + 1) * width), r * width));
}
