import { decodeImage } from '../io/image-decode.ts';
import { imageForModel, type LocalImageReader } from '../io/image-source.ts';
import { readInputBytes, readInputFile } from './input-file.ts';

/**
 * Paths on this machine for the library's loaders: a .npy is taken as it is (already
 * normalised), a PNG or JPEG goes through the model's preprocessing with the picture it
 * yields kept, as in a browser.
 */
export const localImageReader: LocalImageReader = {
  readPath(path, target) {
    if (path.toLowerCase().endsWith('.npy') || !target.preprocessing || target.inputShape[0] !== 3) {
      return { name: path, input: readInputFile(path, target.inputShape, target.preprocessing) };
    }
    return imageForModel(decodeImage(readInputBytes(path), path), path, target);
  },
  decodeBytes: decodeImage,
};
