import { readFileSync } from 'node:fs';
import { preprocessImage, type HostTensor, type Preprocessing } from '@moxi/kernels';
import { decodeImage } from '@moxi/kernels/node';

/** A PNG or JPEG file as the model's normalised input [1, C, H, W]. */
export function readImageTensor(path: string, preprocessing: Preprocessing): HostTensor {
  return preprocessImage(decodeImage(new Uint8Array(readFileSync(path)), path), preprocessing);
}
