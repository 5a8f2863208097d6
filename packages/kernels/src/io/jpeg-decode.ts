/**
 * JPEG -> 8-bit RGB as libjpeg-turbo (what Pillow links) decodes it by default, built on
 * jpeg-js for the entropy decoding and IDCT.
 *
 * jpeg-js alone differs from libjpeg in two visible ways: it upsamples subsampled chroma
 * by pixel replication where libjpeg uses "fancy" triangular upsampling, and its
 * YCbCr -> RGB conversion truncates instead of rounding. On a 4:2:0 photo with texture
 * that is a mean error of several levels. So we ask jpeg-js for the raw components
 * (colorTransform: false), recover each subsampled plane from its replicated samples,
 * and redo libjpeg's upsampling (jdsample.c: h2v1, h1v2, h2v2 fancy, edges replicated)
 * and colour conversion (jdcolor.c: 16-bit fixed point tables). What remains is the
 * IDCT (jpeg-js's Loeffler vs libjpeg's ISLOW): off by one level on a few samples.
 *
 * Cases jpeg-js will not hand over raw (an Adobe marker asking for a transform, CMYK)
 * keep jpeg-js's own conversion.
 */
import { decode } from 'jpeg-js';
import type { DecodedImage } from './decoded-image.ts';

interface FrameInfo {
  components: { id: number; h: number; v: number }[];
  sawJfif: boolean;
  adobeTransform: number | undefined;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Reads the markers before the first scan: sampling factors and colour-space hints. */
function readFrameInfo(bytes: Uint8Array): FrameInfo | undefined {
  const info: FrameInfo = { components: [], sawJfif: false, adobeTransform: undefined };
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length field
      continue;
    }
    if (marker === 0xda) return info.components.length > 0 ? info : undefined;
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    const data = bytes.subarray(i + 4, i + 2 + length);
    const tag = String.fromCharCode(...data.subarray(0, 5));
    if (marker === 0xe0 && tag === 'JFIF\0') info.sawJfif = true;
    if (marker === 0xee && tag === 'Adobe' && data.length >= 12) info.adobeTransform = data[11];
    if (SOF_MARKERS.has(marker) && data.length >= 6) {
      const count = data[5]!;
      for (let c = 0; c < count && 8 + c * 3 < data.length; c++) {
        const factors = data[7 + c * 3]!;
        info.components.push({ id: data[6 + c * 3]!, h: factors >> 4, v: factors & 15 });
      }
    }
    i += 2 + length;
  }
  return undefined;
}

/** libjpeg's choice for 3-component files (jdapimin.c default_decompress_parms). */
function isRgbColorSpace(info: FrameInfo): boolean {
  if (info.sawJfif) return false;
  if (info.adobeTransform !== undefined) return info.adobeTransform === 0;
  const [a, b, c] = info.components;
  return a!.id === 0x52 && b!.id === 0x47 && c!.id === 0x42; // 'R', 'G', 'B'
}

interface Plane {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The subsampled plane jpeg-js replicated: sample (i, j) sits at pixel (i * fx, j * fy). */
function nativePlane(raw: Uint8Array, channel: number, width: number, height: number, fx: number, fy: number): Plane {
  const w = Math.ceil(width / fx);
  const h = Math.ceil(height / fy);
  const data = new Uint8Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) data[j * w + i] = raw[((j * fy) * width + i * fx) * 3 + channel]!;
  }
  return { width: w, height: h, data };
}

/** jdsample.c h2v1_fancy_upsample: 3/4 nearer + 1/4 further sample, end columns copied. */
function upsampleH2V1(p: Plane, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const last = p.width - 1;
  for (let y = 0; y < height; y++) {
    const row = y * p.width;
    for (let x = 0; x < width; x++) {
      const i = x >> 1;
      const near = p.data[row + i]! * 3;
      let value: number;
      if (x % 2 === 0) value = i === 0 ? p.data[row]! : (near + p.data[row + i - 1]! + 1) >> 2;
      else value = i === last ? p.data[row + last]! : (near + p.data[row + i + 1]! + 2) >> 2;
      out[y * width + x] = value;
    }
  }
  return out;
}

/** jdsample.c h1v2_fancy_upsample; rows above the top and below the bottom repeat the edge row. */
function upsampleH1V2(p: Plane, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const near = y >> 1;
    const upper = y % 2 === 0;
    const far = Math.min(Math.max(upper ? near - 1 : near + 1, 0), p.height - 1);
    const bias = upper ? 1 : 2;
    for (let x = 0; x < width; x++) {
      out[y * width + x] = (p.data[near * p.width + x]! * 3 + p.data[far * p.width + x]! + bias) >> 2;
    }
  }
  return out;
}

/** jdsample.c h2v2_fancy_upsample: 9/16, 3/16, 3/16, 1/16 with libjpeg's alternating 8 / 7 rounding. */
function upsampleH2V2(p: Plane, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const colSum = new Int32Array(p.width);
  const last = p.width - 1;
  for (let y = 0; y < height; y++) {
    const near = y >> 1;
    const far = Math.min(Math.max(y % 2 === 0 ? near - 1 : near + 1, 0), p.height - 1);
    for (let i = 0; i < p.width; i++) colSum[i] = p.data[near * p.width + i]! * 3 + p.data[far * p.width + i]!;
    for (let x = 0; x < width; x++) {
      const i = x >> 1;
      const here = colSum[i]! * 3;
      let value: number;
      if (x % 2 === 0) value = i === 0 ? (colSum[0]! * 4 + 8) >> 4 : (here + colSum[i - 1]! + 8) >> 4;
      else value = i === last ? (colSum[last]! * 4 + 7) >> 4 : (here + colSum[i + 1]! + 7) >> 4;
      out[y * width + x] = value;
    }
  }
  return out;
}

/** A full-resolution plane for one component, upsampled the way libjpeg would. */
function fullPlane(raw: Uint8Array, channel: number, width: number, height: number, fx: number, fy: number): Uint8Array {
  const plane = nativePlane(raw, channel, width, height, fx, fy);
  // Where libjpeg replicates (other integer factors, or planes 2 samples wide or less),
  // jpeg-js's nearest-neighbour output is already right.
  if (fx === 2 && fy === 1 && plane.width > 2) return upsampleH2V1(plane, width, height);
  if (fx === 1 && fy === 2) return upsampleH1V2(plane, width, height);
  if (fx === 2 && fy === 2 && plane.width > 2) return upsampleH2V2(plane, width, height);
  return nativePlane(raw, channel, width, height, 1, 1).data;
}

const SCALE_BITS = 16;
const ONE_HALF = 1 << (SCALE_BITS - 1);
const fix = (x: number): number => Math.trunc(x * (1 << SCALE_BITS) + 0.5);

/** jdcolor.c build_ycc_rgb_table, indexed by the 0..255 chroma sample. */
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = Math.floor((fix(1.402) * x + ONE_HALF) / 2 ** SCALE_BITS);
  CB_B[i] = Math.floor((fix(1.772) * x + ONE_HALF) / 2 ** SCALE_BITS);
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Decodes a JPEG to interleaved RGB; throws jpeg-js's Error on a corrupt file. */
export function decodeJpegToRgb(bytes: Uint8Array): DecodedImage {
  const info = readFrameInfo(bytes);
  // jpeg-js converts by itself whenever an Adobe marker asks for a transform, and we
  // only redo the conversion for 3-component files.
  if (info === undefined || info.components.length !== 3 || (info.adobeTransform ?? 0) !== 0) {
    const image = decode(bytes, { useTArray: true, formatAsRGBA: false });
    return { width: image.width, height: image.height, data: image.data };
  }
  const raw = decode(bytes, { useTArray: true, formatAsRGBA: false, colorTransform: false });
  const { width, height } = raw;
  if (isRgbColorSpace(info)) return { width, height, data: raw.data };

  const maxH = Math.max(...info.components.map((c) => c.h));
  const maxV = Math.max(...info.components.map((c) => c.v));
  const [y, cb, cr] = info.components.map((c, channel) =>
    Number.isInteger(maxH / c.h) && Number.isInteger(maxV / c.v)
      ? fullPlane(raw.data, channel, width, height, maxH / c.h, maxV / c.v)
      : nativePlane(raw.data, channel, width, height, 1, 1).data,
  ) as [Uint8Array, Uint8Array, Uint8Array];
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const luma = y[p]!;
    const blue = cb[p]!;
    const red = cr[p]!;
    out[p * 3] = clamp8(luma + CR_R[red]!);
    out[p * 3 + 1] = clamp8(luma + Math.floor((CB_G[blue]! + CR_G[red]!) / 2 ** SCALE_BITS));
    out[p * 3 + 2] = clamp8(luma + CB_B[blue]!);
  }
  return { width, height, data: out };
}
