import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { resizeAndCrop, type HostTensor, type Preprocessing } from '@moxi/kernels';
import { decodeImage, sniffImageFormat } from '@moxi/kernels/node';
import { usageError } from './cli-error.ts';
import { checkOutputFile } from './output-paths.ts';

/** Checks --out before any work: a PNG or SVG path in an existing, writable folder. */
export function checkOutputPath(path: string): void {
  if (!['.png', '.svg'].includes(extname(path).toLowerCase())) throw usageError('--out', `${path}: the heatmap is written as PNG or SVG; give a path ending in .png or .svg`);
  checkOutputFile('--out', path);
}

/**
 * The RGB pixels the model saw: the image file resized and cropped by the model's
 * preprocessing, or, for a .npy input, the tensor mapped back through mean and std (or
 * stretched to 0..255 when the folder gives none).
 */
export function backdropPixels(inputPath: string, tensor: HostTensor, preprocessing?: Preprocessing): { width: number; height: number; data: Uint8Array } {
  const buffer = readFileSync(inputPath);
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (preprocessing && sniffImageFormat(bytes)) return resizeAndCrop(decodeImage(bytes, inputPath), preprocessing);
  const [, C = 1, H = 1, W = 1] = tensor.shape;
  const plane = H * W;
  const data = new Uint8Array(plane * 3);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < C * plane; i++) {
    lo = Math.min(lo, tensor.data[i]!);
    hi = Math.max(hi, tensor.data[i]!);
  }
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < 3; k++) {
      const c = Math.min(k, C - 1);
      const v = tensor.data[c * plane + p]!;
      const unit = preprocessing && C === 3 ? (v * preprocessing.std[c]! + preprocessing.mean[c]!) : (v - lo) / (hi - lo || 1);
      data[p * 3 + k] = Math.round(Math.min(1, Math.max(0, unit)) * 255);
    }
  }
  return { width: W, height: H, data };
}
