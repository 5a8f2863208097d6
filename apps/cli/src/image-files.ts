import { readFileSync } from 'node:fs';
import { preprocessImage, type HostTensor, type Preprocessing } from '@moxi/kernels';
import { decodeImage } from '@moxi/kernels/node';

/** A PNG or JPEG file as the model's normalised input [1, C, H, W]. */
export function readImageTensor(path: string, preprocessing: Preprocessing): HostTensor {
  return preprocessImage(decodeImage(new Uint8Array(readFileSync(path)), path), preprocessing);
}

/** Images of one shape [1, C, H, W] stacked into one batch [B, C, H, W]. */
export function stackImages(tensors: readonly HostTensor[]): HostTensor {
  const per = tensors[0]!.data.length;
  const data = new Float32Array(per * tensors.length);
  tensors.forEach((t, i) => data.set(t.data, i * per));
  return { shape: [tensors.length, ...tensors[0]!.shape.slice(1)], data };
}
