import { existsSync, readFileSync, statSync } from 'node:fs';
import type { HostTensor } from '../host-tensor.ts';
import { decodeImage, sniffImageFormat } from '../io/image-decode.ts';
import { InputError } from '../io/input-error.ts';
import { parseNpy } from '../io/npy.ts';
import { preprocessImage, type Preprocessing } from '../io/preprocess.ts';

/** The bytes of an input file, refusing a missing path or a folder by name. */
export function readInputBytes(path: string): Uint8Array {
  if (!existsSync(path)) throw new InputError(path, 'no such file (give a .npy, .png or .jpg input)');
  if (!statSync(path).isFile()) throw new InputError(path, 'is not a file');
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Reads one model input: a .npy of float32 [3, H, W] or [B, 3, H, W] already normalised
 * (preprocessing bypassed), or a PNG / JPEG preprocessed as the model folder says.
 * Always returns [B, C, H, W] checked against the model's input shape.
 */
export function readInputFile(path: string, inputShape: readonly [number, number, number], preprocessing?: Preprocessing): HostTensor {
  const bytes = readInputBytes(path);
  const [C, H, W] = inputShape;
  const isNpy = path.toLowerCase().endsWith('.npy') || (bytes[0] === 0x93 && bytes[1] === 0x4e);
  let tensor: HostTensor;
  if (isNpy) {
    tensor = parseNpy(bytes, path);
    if (tensor.shape.length === 3) tensor = { shape: [1, ...tensor.shape], data: tensor.data };
    if (tensor.shape.length !== 4) {
      throw new InputError(path, `has shape [${tensor.shape.join(', ')}]; expected [${C}, ${H}, ${W}] or [B, ${C}, ${H}, ${W}]`);
    }
  } else {
    if (!sniffImageFormat(bytes) && !/\.(png|jpe?g)$/i.test(path)) {
      throw new InputError(path, 'is not a .npy, PNG or JPEG file');
    }
    if (!preprocessing) {
      throw new InputError(path, 'the model folder has no preprocessing config (preprocessor_config.json); give a normalised .npy input instead');
    }
    if (C !== 3) throw new InputError(path, `the model takes ${C}-channel input; give a normalised .npy of shape [${C}, ${H}, ${W}]`);
    tensor = preprocessImage(decodeImage(bytes, path), preprocessing);
  }
  const [, c, h, w] = tensor.shape;
  if (c !== C) throw new InputError(path, `has ${c} channels; the model takes ${C} (shape [B, ${C}, ${H}, ${W}])`);
  if (h !== H || w !== W) throw new InputError(path, `is ${h}x${w}; the model takes ${H}x${W} (shape [B, ${C}, ${H}, ${W}])`);
  if (!tensor.data.every(Number.isFinite)) throw new InputError(path, 'contains NaN or infinite values');
  return tensor;
}
