/**
 * Image preprocessing as timm (torchvision transforms on PIL images) and Hugging Face
 * image processors (numpy + PIL) do it at evaluation: resize with a Pillow filter,
 * center crop (zero-padding when the image is smaller), scale to [0, 1], normalize.
 *
 * Everything is reproduced to the bit: resizing is Pillow-exact (resample.ts), the two
 * libraries' crop offsets are kept apart (they round differently), and the float math
 * follows their float32 rounding order: v = f32(pixel * rescale) (torch's x / 255 in
 * float32 gives the same values for every byte), then f32(f32(v - mean) / std) with
 * mean and std rounded to float32 first, as torch's Normalize and HF's normalize do.
 *
 * The config readers live next door (preprocessing-from-timm.ts,
 * preprocessing-from-hugging-face.ts) and are re-exported here, with the types they
 * return (preprocessing.ts).
 */
import type { HostTensor } from '../host-tensor.ts';
import type { DecodedImage } from './decoded-image.ts';
import { InputError } from './input-error.ts';
import type { CenterCrop, CropConvention, Preprocessing, ResizeSpec } from './preprocessing.ts';
import { resizeRgb8 } from './resample.ts';

export type { CenterCrop, CropConvention, Preprocessing, ResizeSpec } from './preprocessing.ts';
export { preprocessingFromTimm } from './preprocessing-from-timm.ts';
export { preprocessingFromHuggingFace } from './preprocessing-from-hugging-face.ts';

/** Python 3's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** [width, height] after the resize step, computed as torchvision / transformers / timm do. */
export function resizedSize(width: number, height: number, resize: ResizeSpec): [number, number] {
  switch (resize.mode) {
    case 'exact':
      return [resize.width, resize.height];
    case 'shortest-edge': {
      const [short, long] = width <= height ? [width, height] : [height, width];
      const newLong = Math.trunc((resize.size * long) / short);
      return width <= height ? [resize.size, newLong] : [newLong, resize.size];
    }
    case 'keep-ratio': {
      const ratio = Math.min(height / resize.height, width / resize.width);
      return [roundHalfEven(width / ratio), roundHalfEven(height / ratio)];
    }
  }
}

/** Source index of output index 0 along one axis (negative: that many zero pixels first). */
export function cropOffset(size: number, crop: number, convention: CropConvention): number {
  if (crop > size) {
    const excess = crop - size;
    return -(convention === 'torchvision' ? Math.floor(excess / 2) : Math.ceil(excess / 2));
  }
  return convention === 'torchvision' ? roundHalfEven((size - crop) / 2) : Math.floor((size - crop) / 2);
}

export function centerCropRgb8(image: DecodedImage, crop: CenterCrop): DecodedImage {
  const { width, height, data } = image;
  const top = cropOffset(height, crop.height, crop.convention);
  const left = cropOffset(width, crop.width, crop.convention);
  const out = new Uint8Array(crop.width * crop.height * 3);
  for (let y = 0; y < crop.height; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= height) continue;
    const x0 = Math.max(0, -left);
    const x1 = Math.min(crop.width, width - left);
    if (x1 <= x0) continue;
    out.set(data.subarray((sy * width + x0 + left) * 3, (sy * width + x1 + left) * 3), (y * crop.width + x0) * 3);
  }
  return { width: crop.width, height: crop.height, data: out };
}

/**
 * The pixels the model sees: the image resized and center-cropped to `prep.inputSize`,
 * before normalization (what an explanation heatmap is drawn over). `configName` names
 * the preprocessing config in the error raised when the result does not come out at
 * `prep.inputSize`, which means the config contradicts itself.
 */
export function resizeAndCrop(image: DecodedImage, prep: Preprocessing, configName = 'preprocessing config'): DecodedImage {
  let current = image;
  if (prep.resize !== null) {
    const [w, h] = resizedSize(current.width, current.height, prep.resize);
    current = resizeRgb8(current, w, h, prep.interpolation);
  }
  if (prep.centerCrop !== null) current = centerCropRgb8(current, prep.centerCrop);
  const [height, width] = prep.inputSize;
  if (current.height !== height || current.width !== width) {
    throw new InputError(
      configName,
      `preprocessing yields ${current.height}x${current.width} images but the model input size is ` +
        `${height}x${width}; fix the resize / crop settings`,
    );
  }
  return current;
}

/** Decoded RGB image -> normalized float32 tensor [1, 3, H, W] (NCHW). */
export function preprocessImage(image: DecodedImage, prep: Preprocessing, configName = 'preprocessing config'): HostTensor {
  const current = resizeAndCrop(image, prep, configName);
  const { width, height } = current;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(prep.mean[c]!);
    const std = Math.fround(prep.std[c]!);
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = Math.fround(Math.fround(v * prep.rescale) - mean) / std;
    for (let p = 0; p < plane; p++) out[c * plane + p] = lut[current.data[p * 3 + c]!]!;
  }
  return { shape: [1, 3, height, width], data: out };
}
