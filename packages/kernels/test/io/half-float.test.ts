import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '../../src/io/half-float.ts';
import { fixtureArray, manifest } from './fixtures.ts';

const isNanF16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isNanBf16 = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;

describe('float16', () => {
  it.each([
    // [value, f16 bits from numpy / torch, value read back]
    [1 / 3, 0x3555, 0.333251953125],
    [65504, 0x7bff, 65504],
    [65520, 0x7c00, Infinity], // halfway to 2^16 rounds to even: overflow
    [1e5, 0x7c00, Infinity],
    [1e-8, 0x0000, 0], // below half the smallest subnormal
    [6e-8, 0x0001, 2 ** -24],
    [-2, 0xc000, -2],
    [0.1, 0x2e66, 0.0999755859375],
    [-0, 0x8000, -0],
  ])('narrows %f to bits %i and back (exact)', (value, bits, back) => {
    expect(float32ToFloat16Bits(value)).toBe(bits);
    expect(Object.is(float16BitsToFloat32(bits), back)).toBe(true);
  });

  it('matches torch .half() bit for bit on edge cases and random values', () => {
    const { values, f16, count } = manifest.half;
    const input = fixtureArray(values, (b) => new Float32Array(b));
    const expected = fixtureArray(f16, (b) => new Uint16Array(b));
    expect(input.length).toBe(count);
    const mismatches = [...input].map((v, i) => [v, float32ToFloat16Bits(v), expected[i]!]).filter(([, a, b]) => a !== b);
    expect(mismatches).toEqual([]);
  });

  it('round-trips every non-NaN f16 bit pattern (widening is exact)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const widened = float16ArrayToFloat32(all);
    for (let h = 0; h < 65536; h++) {
      if (isNanF16(h)) expect(widened[h]).toBeNaN();
      else if (float32ToFloat16Bits(widened[h]!) !== h) throw new Error(`0x${h.toString(16)} does not round-trip`);
    }
  });

  it('narrows NaN to the canonical quiet NaN with its sign', () => {
    expect(float32ToFloat16Bits(NaN)).toBe(0x7e00);
    expect(float32ToFloat16Bits(-NaN) & 0x7fff).toBe(0x7e00);
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
  });
});

describe('bfloat16', () => {
  it.each([
    [1 / 3, 0x3eab, 0.333984375],
    [65504, 0x4780, 65536],
    [1e-8, 0x322c, 1.0011717677116394e-8],
    [0.1, 0x3dcd, 0.10009765625],
    [1e5, 0x47c3, 99840],
    [3.4028234663852886e38, 0x7f80, Infinity], // FLT_MAX rounds up to infinity
  ])('narrows %f to bits %i and back (exact)', (value, bits, back) => {
    expect(float32ToBfloat16Bits(value)).toBe(bits);
    expect(bfloat16BitsToFloat32(bits)).toBe(back);
  });

  it('matches torch .bfloat16() bit for bit on edge cases and random values', () => {
    const { values, bf16 } = manifest.half;
    const input = fixtureArray(values, (b) => new Float32Array(b));
    const expected = fixtureArray(bf16, (b) => new Uint16Array(b));
    const mismatches = [...input].map((v, i) => [v, float32ToBfloat16Bits(v), expected[i]!]).filter(([, a, b]) => a !== b);
    expect(mismatches).toEqual([]);
  });

  it('round-trips every non-NaN bf16 bit pattern and narrows NaN to 0x7fc0', () => {
    for (let h = 0; h < 65536; h++) {
      const widened = bfloat16BitsToFloat32(h);
      if (isNanBf16(h)) expect(float32ToBfloat16Bits(widened)).toBe(0x7fc0);
      else if (float32ToBfloat16Bits(widened) !== h) throw new Error(`0x${h.toString(16)} does not round-trip`);
    }
  });
});
