/**
 * An image to feed a model, from wherever a program has it: a path (Node), a URL, a Blob
 * or File, an ImageBitmap, 8-bit RGB pixels, or a tensor already normalised. Every source
 * goes through the same Pillow-exact preprocessing (resize, crop, normalise), so an image
 * scores the same in Node and in a browser.
 *
 * Decoding: browsers decode with createImageBitmap (colour management off, so the bytes
 * are the file's own, as PIL reads them); Node decodes PNG and JPEG bytes itself, with the
 * decoder '@moxi/kernels/node' registers (pngjs needs Node's Buffer).
 */
import type { HostTensor } from '../host-tensor.ts';
import type { DecodedImage } from './decoded-image.ts';
import { InputError } from './input-error.ts';
import { isUrlString } from './model-source.ts';
import { preprocessImage, resizeAndCrop, type Preprocessing } from './preprocess.ts';

export type ImageSource = string | URL | Blob | ImageBitmap | DecodedImage | HostTensor;

/** What a model needs to read an image: its input shape and, for image files, its preprocessing. */
export interface ImageTarget {
  location: string;
  inputShape: readonly [number, number, number];
  preprocessing?: Preprocessing;
}

/** An image ready for a model: its input [1, C, H, W] and, for picture sources, the RGB the model sees (after resize and crop). */
export interface ModelImage {
  name: string;
  input: HostTensor;
  seen?: DecodedImage;
}

/** The Node entry's readers: a path to a model input (.npy, PNG, JPEG), and PNG / JPEG bytes to RGB. */
export interface LocalImageReader {
  readPath(path: string, target: ImageTarget): ModelImage;
  decodeBytes(bytes: Uint8Array, name: string): DecodedImage;
}

let localImageReader: LocalImageReader | undefined;

export function useLocalImageReader(reader: LocalImageReader): void {
  localImageReader = reader;
}

function isHostTensor(source: object): source is HostTensor {
  return 'shape' in source && 'data' in source && source.data instanceof Float32Array;
}

function isDecodedImage(source: object): source is DecodedImage {
  return 'width' in source && 'height' in source && 'data' in source && (source.data instanceof Uint8Array || source.data instanceof Uint8ClampedArray);
}

function canDecodeInBrowser(): boolean {
  return typeof createImageBitmap === 'function' && typeof OffscreenCanvas === 'function';
}

/** An ImageBitmap's pixels as RGB bytes (alpha dropped, as PIL's convert('RGB') does). */
export function imageBitmapToRgb(bitmap: ImageBitmap): DecodedImage {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('this browser gives no 2d canvas, so images cannot be read');
  context.drawImage(bitmap, 0, 0);
  return rgbaToRgb(context.getImageData(0, 0, bitmap.width, bitmap.height).data, bitmap.width, bitmap.height);
}

/** RGBA bytes (a canvas's ImageData) to RGB, alpha dropped. */
export function rgbaToRgb(rgba: ArrayLike<number>, width: number, height: number): DecodedImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { width, height, data: rgb };
}

/** A Blob (a File, a fetched body) decoded to RGB: by the browser where there is one, else by the Node decoder. */
export async function decodeImageBlob(blob: Blob, name: string): Promise<DecodedImage> {
  if (canDecodeInBrowser()) {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    } catch {
      throw new InputError(name, 'is not an image the browser can decode (give a PNG or JPEG)');
    }
    try {
      return imageBitmapToRgb(bitmap);
    } finally {
      bitmap.close();
    }
  }
  if (!localImageReader) throw new InputError(name, "cannot be decoded here: this runtime has no createImageBitmap; in Node import '@moxi/kernels/node'");
  return localImageReader.decodeBytes(new Uint8Array(await blob.arrayBuffer()), name);
}

function checkTensor(tensor: HostTensor, name: string, target: ImageTarget): HostTensor {
  const shape = tensor.shape.length === 3 ? [1, ...tensor.shape] : tensor.shape;
  const [C, H, W] = target.inputShape;
  if (shape.length !== 4 || shape[0] !== 1 || shape[1] !== C || shape[2] !== H || shape[3] !== W) {
    throw new InputError(name, `is a tensor of shape [${tensor.shape.join(', ')}]; ${target.location} takes [${C}, ${H}, ${W}] (or [1, ${C}, ${H}, ${W}]), already normalised`);
  }
  if (!tensor.data.every(Number.isFinite)) throw new InputError(name, 'contains NaN or infinite values');
  return { shape, data: tensor.data };
}

/** Decoded RGB to the model's input, through its preprocessing; `seen` is the resized and cropped picture. */
export function imageForModel(decoded: DecodedImage, name: string, target: ImageTarget): ModelImage {
  const prep = target.preprocessing;
  if (!prep) throw new InputError(target.location, 'has no preprocessing settings (preprocessor_config.json or pretrained_cfg), so images cannot be fed to it; give a normalised tensor instead');
  if (target.inputShape[0] !== 3) throw new InputError(name, `${target.location} takes ${target.inputShape[0]}-channel input; give a normalised tensor`);
  const seen = resizeAndCrop(decoded, prep, target.location);
  // The crop already has the input size, so only the normalisation remains.
  const input = preprocessImage(seen, { ...prep, resize: null, centerCrop: null }, target.location);
  return { name, input, seen };
}

function sourceName(source: ImageSource): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (typeof File === 'function' && source instanceof File) return source.name;
  if (typeof Blob === 'function' && source instanceof Blob) return 'the image blob';
  if (typeof ImageBitmap === 'function' && source instanceof ImageBitmap) return 'the ImageBitmap';
  return isHostTensor(source) ? 'the input tensor' : 'the pixel array';
}

/** Reads, decodes and preprocesses one image for a model. */
export async function readImageSource(source: ImageSource, target: ImageTarget, signal?: AbortSignal): Promise<ModelImage> {
  const name = sourceName(source);
  if (typeof source === 'string' || source instanceof URL) {
    const text = typeof source === 'string' ? source : source.href;
    if (localImageReader && (!isUrlString(text) || text.startsWith('file:'))) {
      return localImageReader.readPath(text.startsWith('file:') ? decodeURIComponent(new URL(text).pathname) : text, target);
    }
    let response: Response;
    try {
      response = await fetch(text, signal ? { signal } : {});
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new InputError(name, `could not be fetched (${(error as Error).message})`);
    }
    if (!response.ok) throw new InputError(name, `could not be fetched (HTTP ${response.status})`);
    return imageForModel(await decodeImageBlob(await response.blob(), name), name, target);
  }
  if (typeof Blob === 'function' && source instanceof Blob) return imageForModel(await decodeImageBlob(source, name), name, target);
  if (typeof ImageBitmap === 'function' && source instanceof ImageBitmap) return imageForModel(imageBitmapToRgb(source), name, target);
  if (isHostTensor(source)) return { name, input: checkTensor(source, name, target) };
  if (isDecodedImage(source)) {
    if (source.data.length !== source.width * source.height * 3) throw new InputError(name, `holds ${source.data.length} bytes; ${source.width}x${source.height} RGB needs ${source.width * source.height * 3} (3 bytes per pixel, row-major)`);
    return imageForModel({ width: source.width, height: source.height, data: Uint8Array.from(source.data) }, name, target);
  }
  throw new InputError(name, 'is not an image source moxi reads (a path or URL, a Blob or File, an ImageBitmap, { width, height, data } RGB bytes, or a normalised tensor)');
}
