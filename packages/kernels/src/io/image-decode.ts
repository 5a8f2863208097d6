/**
 * PNG / JPEG bytes -> 8-bit RGB, matching what `PIL.Image.open(f).convert('RGB')` gives
 * (Pillow 9.4), since that is what timm and Hugging Face feed their preprocessing:
 *   - alpha (RGBA, LA, tRNS) is dropped, never blended against a background;
 *   - palette images are looked up in their palette;
 *   - 1/2/4-bit grayscale is scaled to 0..255 (x255, x85, x17);
 *   - 16-bit RGB / RGBA / LA keep the high byte of each sample (Pillow's "RGB;16B" unpacker
 *     truncates, it does not round);
 *   - 16-bit grayscale becomes Pillow mode "I", whose conversion to RGB clamps to 0..255:
 *     every sample above 255 turns white. Surprising, but it is what PIL-based pipelines see.
 * The format is sniffed from the magic bytes, never from the file name. EXIF orientation
 * is not applied, as PIL does not apply it either.
 *
 * PNG goes through pngjs with rescaling off (it would round 16-bit samples and zero the
 * colour of tRNS pixels); it needs a global `Buffer` (Node, or a polyfill in browsers).
 * JPEG goes through jpeg-js plus libjpeg's chroma upsampling and colour conversion
 * (jpeg-decode.ts); only the IDCT differs from Pillow's libjpeg-turbo, by a level or so
 * (see the decode tests for measured bounds).
 *
 * A file that fails to decode is reported in our words, "the PNG is truncated or corrupt
 * (...)", with what is wrong where the layout says (cut inside a chunk, no IEND, a chunk
 * failing its checksum, no JPEG end-of-image marker), not the decoders' internals.
 */
import { PNG } from 'pngjs';
import type { DecodedImage } from './decoded-image.ts';
import { InputError } from './input-error.ts';
import { decodeJpegToRgb } from './jpeg-decode.ts';

export type { DecodedImage } from './decoded-image.ts';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

export type ImageFormat = 'png' | 'jpeg';

export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const startsWith = (magic: number[]): boolean => magic.every((byte, i) => bytes[i] === byte);
  if (startsWith(PNG_MAGIC)) return 'png';
  if (startsWith(JPEG_MAGIC)) return 'jpeg';
  return undefined;
}

/** The first bytes as text when printable, else as hex, so users recognise what they passed. */
function describeStart(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 8);
  const printable = head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d);
  if (printable) return JSON.stringify(new TextDecoder().decode(head));
  return [...head].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

export function decodeImage(bytes: Uint8Array, fileName: string): DecodedImage {
  if (bytes.length === 0) throw new InputError(fileName, 'file is empty, expected a PNG or JPEG image');
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new InputError(fileName, `not a PNG or JPEG image (starts with ${describeStart(bytes)})`);
  }
  return format === 'png' ? decodePng(bytes, fileName) : decodeJpeg(bytes, fileName);
}

/**
 * The largest image decoded: 100 megapixels, as jpeg-js's own default (maxResolutionInMP).
 * A PNG states its size in its header and a few kilobytes can claim gigapixels (a
 * decompression bomb): the header is read first and such files are refused before any
 * pixel buffer exists.
 */
export const MAX_IMAGE_PIXELS = 100_000_000;

function checkPngSize(bytes: Uint8Array, fileName: string): void {
  // IHDR is the first chunk: signature (8), length (4), type (4), width (4), height (4).
  if (bytes.length < 24) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width === 0 || height === 0) throw new InputError(fileName, `PNG header claims ${width}x${height} pixels: the file is corrupt`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new InputError(fileName, `PNG header claims ${width}x${height} pixels, more than moxi decodes (${MAX_IMAGE_PIXELS / 1e6} megapixels); scale the image down first`);
  }
}

function decodePng(bytes: Uint8Array, fileName: string): DecodedImage {
  if (typeof Buffer === 'undefined') {
    throw new Error('PNG decoding needs a global Buffer: in a browser, install a Buffer polyfill');
  }
  checkPngSize(bytes, fileName);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (error) {
    throw new InputError(fileName, `the PNG is truncated or corrupt (${pngDamage(bytes) ?? decoderSays((error as Error).message)})`);
  }
  const { width, height, depth, colorType } = png;
  // With skipRescale, pngjs hands back RGBA with samples still at the file's bit depth
  // (a Uint16Array at 16 bits; palette images already looked up to 8-bit RGB). Its
  // typings leave out transColor and the 16-bit array.
  const data = png.data as Uint8Array | Uint16Array;
  const transColor = (png as { transColor?: number[] }).transColor;
  const isPalette = (colorType as number) === 3;
  const isGray = colorType === 0 || colorType === 4;
  const to8Bit = isPalette || depth === 8 ? (v: number) => v : sampleTo8Bit(depth, colorType);
  const pixels = width * height;
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const i = p * 4;
    let r = data[i]!;
    let g = data[i + 1]!;
    let b = data[i + 2]!;
    // pngjs zeroes the colour of pixels matching tRNS; PIL keeps it. Only those pixels
    // have alpha 0 in a file without an alpha channel, and their colour is transColor.
    if (transColor !== undefined && !isPalette && data[i + 3] === 0) {
      r = transColor[0]!;
      g = transColor.length === 3 ? transColor[1]! : r;
      b = transColor.length === 3 ? transColor[2]! : r;
    }
    const red = to8Bit(r);
    out[p * 3] = red;
    out[p * 3 + 1] = isGray ? red : to8Bit(g);
    out[p * 3 + 2] = isGray ? red : to8Bit(b);
  }
  return { width, height, data: out };
}

/** Pillow's conversion of one sample at a bit depth other than 8 (see the header). */
function sampleTo8Bit(depth: number, colorType: number): (v: number) => number {
  if (depth === 16) return colorType === 0 ? (v) => Math.min(v, 255) : (v) => v >>> 8;
  return (v) => (v * 255) / ((1 << depth) - 1);
}

function decodeJpeg(bytes: Uint8Array, fileName: string): DecodedImage {
  try {
    return decodeJpegToRgb(bytes);
  } catch (error) {
    throw new InputError(fileName, `the JPEG is truncated or corrupt (${jpegEnd(bytes) ?? decoderSays((error as Error).message)})`);
  }
}

/**
 * Why a PNG that failed to decode is damaged, from its chunk layout: signature, then chunks
 * of length (4), type (4), data, CRC (4), ending with IEND. A file cut short (a partial
 * copy or download) ends inside a chunk or before IEND; pngjs itself only reports "read
 * requests waiting on finished stream". Undefined when the layout is intact.
 */
function pngDamage(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = PNG_MAGIC.length;
  let last = 'signature';
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) return `no valid chunk at byte ${at}, after the ${last}`;
    if (at + 12 + length > bytes.length) return `the file ends after ${bytes.length} bytes, in the middle of its ${type} chunk, which runs to byte ${at + 12 + length}`;
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) return `the checksum of its ${type} chunk at byte ${at} does not match the chunk's bytes`;
    if (type === 'IEND') return undefined;
    last = `${type} chunk`;
    at += 12 + length;
  }
  return `the file ends after ${bytes.length} bytes, after the ${last}, without the IEND chunk that closes a PNG`;
}

let CRC_TABLE: Uint32Array | undefined;

/** The CRC-32 of PNG chunks (ISO 3309, as zlib's crc32). */
function crc32(bytes: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A JPEG that failed to decode and does not end with the end-of-image marker (FF D9) was
 * most likely cut short. Undefined when it does end so.
 */
function jpegEnd(bytes: Uint8Array): string | undefined {
  let end = bytes.length;
  // Some writers pad after EOI; padding is no sign of truncation.
  while (end > 2 && (bytes[end - 1] === 0x00 || bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  if (bytes[end - 2] === 0xff && bytes[end - 1] === 0xd9) return undefined;
  return `the file ends after ${bytes.length} bytes without the end-of-image marker FF D9`;
}

/** The decoder's own message, spelled out where it is cryptic. */
function decoderSays(message: string): string {
  if (/waitng|waiting on finished stream/i.test(message)) return 'the image data ends early';
  if (/header check|invalid (distance|code|block|stored)|unexpected end of file|incorrect/i.test(message)) return `its compressed image data is damaged (zlib: ${message})`;
  return `decoder: ${message}`;
}
