/**
 * Pillow-exact resizing of 8-bit RGB images: `Image.resize((w, h), filter)` with the
 * default box, byte for byte (Pillow 9.x, libImaging/Resample.c and Geometry.c).
 * timm's torchvision transforms and Hugging Face's image processors both resize PIL
 * images, so a model scores its published accuracy only if this matches bit for bit.
 *
 * The antialiased filters are separable: a horizontal pass, then a vertical pass over
 * the intermediate, each clipped to 0..255. When shrinking, the filter support widens by
 * the scale factor (that is the antialiasing). Weights are computed in double precision,
 * normalised to sum 1, then turned into 22-bit fixed point (PRECISION_BITS = 32 - 8 - 2)
 * and accumulated in 32-bit integers starting from a rounding half; every one of those
 * steps shows up in the low bit of some pixel, so the code mirrors them one by one.
 * NEAREST does not use this path: Pillow runs an affine nearest-neighbour transform.
 */
import type { DecodedImage } from './decoded-image.ts';

export type ResampleFilter = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos' | 'box' | 'hamming';

interface Kernel {
  support: number;
  weight(x: number): number;
}

/** Pillow's 0.54f / 0.46f are float literals: their float32 values enter the double math. */
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);
/** Pillow's bicubic uses a = -0.5 (Keys), not PyTorch's -0.75. */
const BICUBIC_A = -0.5;

function sinc(x: number): number {
  if (x === 0) return 1;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

const KERNELS: Record<Exclude<ResampleFilter, 'nearest'>, Kernel> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    weight: (x) => {
      const t = Math.abs(x);
      return t < 1 ? 1 - t : 0;
    },
  },
  hamming: {
    support: 1,
    weight: (x) => {
      const t = Math.abs(x);
      if (t === 0) return 1;
      if (t >= 1) return 0;
      const u = t * Math.PI;
      return (Math.sin(u) / u) * (HAMMING_A + HAMMING_B * Math.cos(u));
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const t = Math.abs(x);
      const a = BICUBIC_A;
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;

/** For each output index: first input index, tap count, and fixed-point weights. */
interface Coefficients {
  taps: number;
  first: Int32Array;
  count: Int32Array;
  weights: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box [0, inSize). */
function coefficients(inSize: number, outSize: number, kernel: Kernel): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = kernel.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  const inverse = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) truncates toward zero; the clamps make that floor where it matters.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      // Same association as Pillow: ((x + xmin) - center) + 0.5.
      const w = kernel.weight((x + xmin - center + 0.5) * inverse);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const normalised = sum !== 0 ? k[x]! / sum : k[x]!;
      const fixed = normalised * (1 << PRECISION_BITS);
      weights[xx * taps + x] = Math.trunc(normalised < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { taps, first, count, weights };
}

/** Pillow's clip8: arithmetic shift, then clamp (its lookup table covers every int32). */
function clip8(accumulator: number): number {
  const v = accumulator >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const ROUNDING = 1 << (PRECISION_BITS - 1);

/** Horizontal pass over rows [rowStart, rowStart + rows) of the source. */
function resampleRows(
  src: Uint8Array,
  srcWidth: number,
  rowStart: number,
  rows: number,
  outWidth: number,
  c: Coefficients,
): Uint8Array {
  const out = new Uint8Array(outWidth * rows * 3);
  for (let y = 0; y < rows; y++) {
    const rowOffset = (y + rowStart) * srcWidth * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const base = xx * c.taps;
      const xmin = c.first[xx]!;
      const n = c.count[xx]!;
      let r = ROUNDING;
      let g = ROUNDING;
      let b = ROUNDING;
      for (let x = 0; x < n; x++) {
        const w = c.weights[base + x]!;
        const p = rowOffset + (xmin + x) * 3;
        // | 0 keeps C's 32-bit int accumulator semantics.
        r = (r + src[p]! * w) | 0;
        g = (g + src[p + 1]! * w) | 0;
        b = (b + src[p + 2]! * w) | 0;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

/** Vertical pass; `rowShift` maps the coefficients' source rows onto `src`'s rows. */
function resampleColumns(
  src: Uint8Array,
  width: number,
  rowShift: number,
  outHeight: number,
  c: Coefficients,
): Uint8Array {
  const out = new Uint8Array(width * outHeight * 3);
  const stride = width * 3;
  for (let yy = 0; yy < outHeight; yy++) {
    const base = yy * c.taps;
    const ymin = c.first[yy]! - rowShift;
    const n = c.count[yy]!;
    for (let i = 0; i < stride; i++) {
      let acc = ROUNDING;
      for (let y = 0; y < n; y++) acc = (acc + src[(ymin + y) * stride + i]! * c.weights[base + y]!) | 0;
      out[yy * stride + i] = clip8(acc);
    }
  }
  return out;
}

/**
 * Pillow's NEAREST resize: ImagingScaleAffine with a = in/out, sampling at pixel centres
 * whose coordinates are accumulated by repeated addition (as Pillow does, so rounding
 * drifts identically); a sample that lands outside the source stays black.
 */
function resizeNearest(image: DecodedImage, outWidth: number, outHeight: number): DecodedImage {
  const { width, height, data } = image;
  const xStep = width / outWidth;
  const yStep = height / outHeight;
  const sourceX = new Int32Array(outWidth);
  let xo = xStep * 0.5;
  for (let x = 0; x < outWidth; x++) {
    sourceX[x] = xo < 0 ? -1 : Math.trunc(xo);
    xo += xStep;
  }
  const out = new Uint8Array(outWidth * outHeight * 3);
  let yo = yStep * 0.5;
  for (let y = 0; y < outHeight; y++) {
    const yi = yo < 0 ? -1 : Math.trunc(yo);
    yo += yStep;
    if (yi < 0 || yi >= height) continue;
    for (let x = 0; x < outWidth; x++) {
      const xi = sourceX[x]!;
      if (xi < 0 || xi >= width) continue;
      const s = (yi * width + xi) * 3;
      const o = (y * outWidth + x) * 3;
      out[o] = data[s]!;
      out[o + 1] = data[s + 1]!;
      out[o + 2] = data[s + 2]!;
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

export function resizeRgb8(
  image: DecodedImage,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
): DecodedImage {
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth < 1 || outHeight < 1) {
    throw new RangeError(`resizeRgb8: output size ${outWidth}x${outHeight} must be positive integers`);
  }
  const { width, height, data } = image;
  if (data.length !== width * height * 3) {
    throw new RangeError(`resizeRgb8: ${width}x${height} RGB needs ${width * height * 3} bytes, got ${data.length}`);
  }
  // Pillow returns a copy when the size is unchanged, whatever the filter.
  if (outWidth === width && outHeight === height) return { width, height, data: data.slice() };
  if (filter === 'nearest') return resizeNearest(image, outWidth, outHeight);

  const kernel = KERNELS[filter];
  const vertical = coefficients(height, outHeight, kernel);
  // Like ImagingResampleInner: the horizontal pass only covers the rows the vertical
  // pass will read, and a pass whose size does not change is skipped entirely.
  let current = data;
  let currentWidth = width;
  let rowShift = 0;
  if (outWidth !== width) {
    const firstRow = vertical.first[0]!;
    const lastRow = vertical.first[outHeight - 1]! + vertical.count[outHeight - 1]!;
    const horizontal = coefficients(width, outWidth, kernel);
    current = resampleRows(data, width, firstRow, lastRow - firstRow, outWidth, horizontal);
    currentWidth = outWidth;
    rowShift = firstRow;
  }
  if (outHeight !== height) current = resampleColumns(current, currentWidth, rowShift, outHeight, vertical);
  return { width: outWidth, height: outHeight, data: current };
}
