import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import { batchSlice, type HostTensor } from '../host-tensor.ts';

/**
 * dL/dlogits from the logits of rows firstRow..firstRow+rows-1 of the batch ([rows,
 * classes] row-major): the gradient pass reads the logits first, so losses that depend on
 * them (cross-entropy) fit. Large batches run in chunks, one call per chunk.
 */
export type OutputGradient = (logits: Float32Array, rows: number, classes: number, firstRow: number) => Float32Array;

/** The layer Grad-CAM reads: its activations and their gradients, per image. */
export interface CamLayer {
  /** [rows, positions, channels] row-major. */
  activation: Float32Array;
  gradient: Float32Array;
  positions: number;
  channels: number;
  /** Leading positions that are not on the grid (a ViT's prefix tokens). */
  skip: number;
  /** The grid of the remaining positions, row-major. */
  grid: [number, number];
}

/** A ViT's attention of every block and dL/d(attention), one entry per block in block order. */
export interface AttentionGradients {
  /** Softmax outputs P, [rows, heads, T, T] row-major. */
  probabilities: Float32Array[];
  /** dL/dP: the gradient with respect to the softmax output, before the softmax's own backward. */
  gradients: Float32Array[];
}

export interface GradientResult {
  logits: Float32Array;
  rows: number;
  classes: number;
  /** dL/dinput, NCHW like the input. */
  inputGradient: Float32Array;
  cam?: CamLayer;
  attention?: AttentionGradients;
}

/** The end of a gradient pass: reads dL/dinput back (and releases it) into the result. */
export async function finishGradient(
  e: GpuEngine,
  dImages: GpuTensor,
  logits: Float32Array,
  rows: number,
  classes: number,
  cam: CamLayer | undefined,
  attention?: AttentionGradients,
): Promise<GradientResult> {
  const inputGradient = await e.read(dImages);
  e.release(dImages);
  const result: GradientResult = { logits, rows, classes, inputGradient };
  if (cam) result.cam = cam;
  if (attention) result.attention = attention;
  return result;
}

export interface GradientOptions {
  /** Also return the Grad-CAM layer (a ViT's last norm1 output; a CNN's last stage). */
  captureCam?: boolean;
  /** Also return every block's attention probabilities and dL/d(probabilities) (ViT only; a CNN refuses). */
  captureAttention?: boolean;
}

/** Images per chunk of a gradient pass: every layer's activations are kept until backward. */
export const GRADIENT_CHUNK = 8;

/**
 * Splits a batch into chunks, runs `pass` on each and concatenates the results. Each chunk's
 * pass gets an output gradient that sees the chunk's own first row of the batch.
 */
export async function chunkedGradient(
  images: HostTensor,
  chunk: number,
  outputGradient: OutputGradient,
  pass: (part: HostTensor, outputGradient: OutputGradient) => Promise<GradientResult>,
): Promise<GradientResult> {
  const B = images.shape[0]!;
  const parts: GradientResult[] = [];
  for (let first = 0; first < B; first += chunk) {
    const last = Math.min(B, first + chunk);
    parts.push(await pass(batchSlice(images, first, last), (logits, rows, classes) => outputGradient(logits, rows, classes, first)));
  }
  if (parts.length === 1) return parts[0]!;
  const cat = (pick: (r: GradientResult) => Float32Array) => {
    const out = new Float32Array(parts.reduce((a, r) => a + pick(r).length, 0));
    let o = 0;
    for (const r of parts) {
      out.set(pick(r), o);
      o += pick(r).length;
    }
    return out;
  };
  const result: GradientResult = { logits: cat((r) => r.logits), rows: B, classes: parts[0]!.classes, inputGradient: cat((r) => r.inputGradient) };
  const cam = parts[0]!.cam;
  if (cam) result.cam = { ...cam, activation: cat((r) => r.cam!.activation), gradient: cat((r) => r.cam!.gradient) };
  const attention = parts[0]!.attention;
  if (attention) {
    result.attention = {
      probabilities: attention.probabilities.map((_, b) => cat((r) => r.attention!.probabilities[b]!)),
      gradients: attention.gradients.map((_, b) => cat((r) => r.attention!.gradients[b]!)),
    };
  }
  return result;
}
