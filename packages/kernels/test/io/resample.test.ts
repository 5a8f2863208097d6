import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.ts';
import { resizeRgb8 } from '../../src/io/resample.ts';
import { fixtureBytes, manifest } from './fixtures.ts';

describe('resizeRgb8 matches Pillow 9.4 Image.resize byte for byte (tolerance 0)', () => {
  it.each(manifest.resize.map((c) => [c.source, c.width, c.height, c.filter, c] as const))(
    '%s -> %ix%i %s',
    (source, width, height, filter, c) => {
      const image = decodeImage(fixtureBytes(source), source);
      const out = resizeRgb8(image, width, height, filter);
      expect([out.width, out.height]).toEqual([width, height]);
      const expected = fixtureBytes(c.file);
      const wrong = out.data.reduce((n, v, i) => n + (v === expected[i] ? 0 : 1), 0);
      expect(wrong).toBe(0);
    },
  );
});

describe('resizeRgb8 edge cases', () => {
  const image = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i * 10) };

  it.each(['nearest', 'bicubic'] as const)('returns an equal copy at the same size (%s)', (filter) => {
    const out = resizeRgb8(image, 3, 2, filter);
    expect(out.data).toEqual(image.data);
    expect(out.data).not.toBe(image.data);
  });

  it('averages with box weights when shrinking 2:1 (hand-computed)', () => {
    const out = resizeRgb8({ width: 2, height: 1, data: new Uint8Array([0, 10, 255, 101, 20, 0]) }, 1, 1, 'box');
    // (0 + 101) / 2 = 50.5 -> 51 (fixed-point rounding adds half); (10 + 20) / 2 = 15; 255 / 2 = 127.5 -> 128.
    expect([...out.data]).toEqual([51, 15, 128]);
  });

  it.each([
    [0, 1],
    [1, 0],
    [1.5, 2],
    [-1, 2],
  ])('rejects output size %ix%i', (w, h) => {
    expect(() => resizeRgb8(image, w, h, 'bilinear')).toThrow(RangeError);
  });

  it('rejects data that does not match the size', () => {
    expect(() => resizeRgb8({ width: 2, height: 2, data: new Uint8Array(5) }, 1, 1, 'bilinear')).toThrow(RangeError);
  });
});
