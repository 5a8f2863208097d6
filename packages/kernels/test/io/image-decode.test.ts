import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage, sniffImageFormat } from '../../src/io/image-decode.ts';
import { fixtureBytes, manifest } from './fixtures.ts';
import { inputErrorOf } from '../helpers/input-error.ts';

function absDiff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

const pngCases = manifest.images.filter((c) => c.file.endsWith('.png'));
const jpegCases = manifest.images.filter((c) => c.file.endsWith('.jpg'));

describe('decodeImage: PNG matches PIL .convert("RGB") byte for byte (tolerance 0)', () => {
  it.each(pngCases.map((c) => [c.file, c.mode, c] as const))('%s (PIL mode %s)', (file, _, c) => {
    const image = decodeImage(fixtureBytes(file), file);
    expect([image.width, image.height]).toEqual([c.width, c.height]);
    expect(image.data).toEqual(fixtureBytes(c.rgb));
  });

  it('drops alpha without blending (pngjs-encoded RGBA)', () => {
    const png = new PNG({ width: 3, height: 2 });
    png.data.set([10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const image = decodeImage(new Uint8Array(PNG.sync.write(png)), 'rgba.png');
    expect([...image.data]).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3, 5, 6, 7, 9, 10, 11]);
  });

  it('keeps the high byte of 16-bit RGB samples (truncation, as Pillow unpacks)', () => {
    const png = new PNG({ width: 1, height: 1, bitDepth: 16, colorType: 2, inputColorType: 2 });
    // pngjs takes 16-bit input as host-order uint16 values.
    png.data = Buffer.from(new Uint16Array([0x12ff, 0x8000, 0xffff]).buffer);
    const image = decodeImage(new Uint8Array(PNG.sync.write(png, { bitDepth: 16, colorType: 2, inputColorType: 2 })), 'x.png');
    expect([...image.data]).toEqual([0x12, 0x80, 0xff]);
  });
});

describe('decodeImage: JPEG close to PIL (libjpeg-turbo)', () => {
  // Chroma upsampling and colour conversion are redone the libjpeg way, so only the IDCT
  // differs (jpeg-js Loeffler vs libjpeg ISLOW). Measured on these fixtures: mean
  // 0.15-0.19 and max 3 levels for colour, mean 0.06 and max 1 for grey. jpeg-js's own
  // output would be off by a mean of 6 and up to 86 levels on the 4:2:0 photo.
  it.each(jpegCases.map((c) => [c.file, c] as const))('%s: mean abs diff < 0.3, max <= 3', (file, c) => {
    const image = decodeImage(fixtureBytes(file), file);
    expect([image.width, image.height]).toEqual([c.width, c.height]);
    const { mean, max } = absDiff(image.data, fixtureBytes(c.rgb));
    expect(mean).toBeLessThan(0.3);
    expect(max).toBeLessThanOrEqual(c.mode === 'L' ? 1 : 3);
  });

  it('decodes a jpeg-js-encoded image to its colours within JPEG loss (max 3 levels)', () => {
    const width = 16;
    const height = 8;
    const rgba = new Uint8Array(width * height * 4);
    for (let p = 0; p < width * height; p++) rgba.set([200, 100, 50, 255], p * 4);
    const encoded = encodeJpeg({ width, height, data: rgba }, 95);
    const image = decodeImage(new Uint8Array(encoded.data), 'flat.jpg');
    expect([image.width, image.height]).toEqual([width, height]);
    for (let p = 0; p < width * height; p++) {
      expect(Math.abs(image.data[p * 3]! - 200)).toBeLessThanOrEqual(3);
      expect(Math.abs(image.data[p * 3 + 1]! - 100)).toBeLessThanOrEqual(3);
      expect(Math.abs(image.data[p * 3 + 2]! - 50)).toBeLessThanOrEqual(3);
    }
  });
});

describe('decodeImage: errors name the file', () => {
  const text = new TextEncoder().encode('hello world, I am not an image');
  const png = fixtureBytes('rgb-37x29.png');
  const jpeg = fixtureBytes('photo-420.jpg');
  it.each<[string, string, Uint8Array, RegExp]>([
    ['a text file named .png', 'cat.png', text, /^not a PNG or JPEG image \(starts with "hello wo"\)$/],
    ['binary junk', 'x.jpg', new Uint8Array([0x00, 0x01, 0xfe, 0x47, 0x49, 0x46, 0x38, 0x39, 0x61]), /^not a PNG or JPEG image \(starts with 00 01 fe 47 49 46 38 39\)$/],
    ['an empty file', 'empty.png', new Uint8Array(0), /file is empty/],
    // pngjs's own word for a cut file is "There are some read requests waitng on finished stream".
    ['a truncated PNG', 'cut.png', png.subarray(0, png.length / 2), /^the PNG is truncated or corrupt \(the file ends after 1385 bytes, in the middle of its IDAT chunk, which runs to byte \d+\)$/],
    ['a PNG cut just before IEND', 'no-end.png', png.subarray(0, png.length - 12), /^the PNG is truncated or corrupt \(the file ends after \d+ bytes, after the IDAT chunk, without the IEND chunk that closes a PNG\)$/],
    ['a PNG with a corrupt chunk type', 'type.png', Uint8Array.from(png, (b, i) => (i === 40 ? b ^ 0xff : b)), /^the PNG is truncated or corrupt \(no valid chunk at byte 33, after the IHDR chunk\)$/],
    ['a PNG with a corrupt checksum', 'crc.png', Uint8Array.from(png, (b, i) => (i === 30 ? b ^ 0xff : b)), /^the PNG is truncated or corrupt \(the checksum of its IHDR chunk at byte 8 does not match the chunk's bytes\)$/],
    ['a PNG with damaged image data', 'idat.png', Uint8Array.from(png, (b, i) => (i === 60 ? b ^ 0xff : b)), /^the PNG is truncated or corrupt \(the checksum of its IDAT chunk at byte \d+ does not match the chunk's bytes\)$/],
    ['a JPEG cut after its header', 'cut.jpg', jpeg.subarray(0, 200), /^the JPEG is truncated or corrupt \(the file ends after 200 bytes without the end-of-image marker FF D9\)$/],
    ['a JPEG cut in its scan', 'half.jpg', jpeg.subarray(0, jpeg.length / 2), /^the JPEG is truncated or corrupt \(the file ends after \d+ bytes without the end-of-image marker FF D9\)$/],
    ['JPEG magic then junk', 'junk.jpg', new Uint8Array([0xff, 0xd8, 0xff, 0x00, 0x13, 0x37]), /^the JPEG is truncated or corrupt \(/],
    ['a whole JPEG with a damaged marker', 'marker.jpg', Uint8Array.from(jpeg, (b, i) => (i === 3 ? 0x00 : b)), /^the JPEG is truncated or corrupt \(decoder: /],
  ])('%s', (_, file, bytes, message) => {
    const error = inputErrorOf(() => decodeImage(bytes, file));
    expect(error.subject).toBe(file);
    expect(error.problem).toMatch(message);
  });

  it('sniffs by content, not by name', () => {
    expect(sniffImageFormat(png)).toBe('png');
    expect(sniffImageFormat(jpeg)).toBe('jpeg');
    expect(sniffImageFormat(text)).toBeUndefined();
    expect(decodeImage(png, 'actually-a-png.jpg').width).toBe(37);
  });
});
