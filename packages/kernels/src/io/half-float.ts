/**
 * IEEE binary16 (f16) and bfloat16 <-> float32 conversions, bit-exact with PyTorch's
 * `tensor.half()` / `tensor.bfloat16()`: narrowing rounds to nearest, ties to even, and
 * overflow goes to infinity. NaNs narrow to torch's canonical quiet NaNs (f16: sign kept,
 * 0x7e00; bf16: 0x7fc0 as c10::BFloat16 does; torch 1.13's AVX2 path writes 0xffff
 * instead, NaN all the same). Widening is exact.
 *
 * Bits travel as plain numbers (0..0xffff) so callers can fill Uint16Arrays directly.
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function float32Bits(value: number): number {
  scratchF32[0] = value;
  return scratchU32[0]!;
}

function float32FromBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0]!;
}

/** Every f16 value widened once: checkpoints are large, the table is 256 KiB. */
let f16Table: Float32Array | undefined;

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) table[h] = mantissa === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1024 + mantissa) * 2 ** (exponent - 25);
  }
  return table;
}

export function float16BitsToFloat32(bits: number): number {
  f16Table ??= buildF16Table();
  return f16Table[bits & 0xffff]!;
}

/** Widens a whole array of f16 bit patterns (the table lookup, without per-call overhead). */
export function float16ArrayToFloat32(bits: Uint16Array): Float32Array {
  f16Table ??= buildF16Table();
  const table = f16Table;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

export function float32ToFloat16Bits(value: number): number {
  const x = float32Bits(value);
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) {
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00;
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal result: shift the full significand (implicit 1 included) into place.
    // Below 2^-25 everything rounds to zero, which the generic path would also give,
    // but the shift would exceed 31 bits.
    if (halfExponent < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let half = significand >>> shift;
    const remainder = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

export function bfloat16BitsToFloat32(bits: number): number {
  return float32FromBits((bits & 0xffff) << 16);
}

export function float32ToBfloat16Bits(value: number): number {
  const x = float32Bits(value);
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return 0x7fc0;
  // Round to nearest even on the 16 dropped bits. Plain arithmetic, not >>>, because
  // x + bias can pass 2^31; it stays below 2^32 for every non-NaN input.
  const bias = 0x7fff + ((x >>> 16) & 1);
  return Math.floor((x + bias) / 65536) & 0xffff;
}
