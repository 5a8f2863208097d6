import { describe, expect, it } from 'vitest';
import {
  encodeSafetensors,
  parseSafetensors,
  safetensorsMetadata,
  tensorToFloat32,
} from '../../src/io/safetensors.ts';
import { inputErrorOf } from '../helpers/input-error.ts';

const FILE = 'model.safetensors';

/** A safetensors file with an arbitrary header (object -> JSON, string or bytes as is). */
function craft(header: unknown, dataBytes = 0, declaredLength?: bigint): Uint8Array {
  const json =
    header instanceof Uint8Array
      ? header
      : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('dtypes the engine cannot compute with', () => {
  it.each<[string, number]>([['F64', 8], ['I64', 8], ['U8', 1]])(
    '%s parses (BatchNorm counters are I64) but reading it as float32 names file and tensor',
    (dtype, width) => {
      const entries = parseSafetensors(craft({ w: { dtype, shape: [3], data_offsets: [0, 3 * width] } }, 3 * width), FILE);
      expect(entries.get('w')!.dtype).toBe(dtype);
      const error = inputErrorOf(() => tensorToFloat32(entries.get('w')!));
      expect(error.subject).toBe(FILE);
      expect(error.problem).toMatch(new RegExp(`tensor 'w' has dtype ${dtype}, which is not supported \\(supported: F32, F16, BF16\\); convert`));
    },
  );
});

describe('parseSafetensors rejects malformed files with an InputError naming the file', () => {
  it.each<[string, Uint8Array, RegExp]>([
    ['shorter than 8 bytes', new Uint8Array(5), /file is 5 bytes, shorter than the 8-byte header length field/],
    ['absurd header length', craft('{}', 0, 1n << 40n), /header length field says 1099511627776 bytes \(the format allows at most 100000000\)/],
    ['header length beyond the file', craft('{}', 0, 100n), /header length field says 100 bytes but only 2 follow: the file is truncated/],
    ['header not UTF-8', craft(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /header is not valid UTF-8/],
    ['header not JSON', craft('{"w": '), /header is not valid JSON/],
    ['header an array', craft([1, 2]), /header must be a JSON object mapping tensor names/],
    ['entry not an object', craft({ w: 5 }), /tensor 'w' must be an object with dtype, shape and data_offsets, got 5/],
    ['dtype not a string', craft({ w: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'w': dtype must be a string/],
    ['unknown dtype', craft({ w: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'w' has unknown dtype "F33" \(supported: F32, F16, BF16\)/],
    ['sub-byte dtype', craft({ w: { dtype: 'F4', shape: [2], data_offsets: [0, 1] } }, 1), /tensor 'w' has dtype F4, which is not supported \(supported: F32, F16, BF16\); convert/],
    ['I64 of the wrong size', craft({ w: { dtype: 'I64', shape: [2], data_offsets: [0, 8] } }, 8), /\(I64, shape \[2\]\) needs 16 bytes/],
    ['shape not an array', craft({ w: { dtype: 'F32', shape: '2', data_offsets: [0, 8] } }, 8), /tensor 'w': shape must be an array of non-negative integers, got "2"/],
    ['negative dimension', craft({ w: f32([2, -1], 0, 8) }, 8), /shape must be an array of non-negative integers, got \[2,-1\]/],
    ['fractional dimension', craft({ w: f32([1.5], 0, 6) }, 8), /shape must be an array of non-negative integers/],
    ['offsets missing', craft({ w: { dtype: 'F32', shape: [1] } }, 4), /data_offsets must be \[begin, end\] with non-negative integers/],
    ['one offset', craft({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /data_offsets must be \[begin, end\]/],
    ['offset a string', craft({ w: { dtype: 'F32', shape: [1], data_offsets: [0, '4'] } }, 4), /data_offsets must be \[begin, end\]/],
    ['end before begin', craft({ w: f32([0], 8, 4) }, 8), /tensor 'w': data_offsets \[8, 4\] end before they begin/],
    ['size mismatch', craft({ w: f32([2, 2], 0, 12) }, 12), /tensor 'w' \(F32, shape \[2, 2\]\) needs 16 bytes but its data_offsets \[0, 12\] span 12/],
    ['F16 size mismatch', craft({ w: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } }, 4), /\(F16, shape \[3\]\) needs 6 bytes/],
    ['truncated data', craft({ w: f32([4], 0, 16) }, 10), /tensor 'w' ends at byte 16 of the data section, which holds only 10 bytes: the file is truncated/],
    ['overlap', craft({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12), /tensors 'a' and 'b' overlap \(the first ends at byte 8, the second begins at 4\)/],
    ['gap between tensors', craft({ a: f32([2], 0, 8), b: f32([2], 12, 20) }, 20), /4 bytes after tensor 'a' \(before tensor 'b'\) belong to no tensor/],
    ['gap at the start', craft({ a: f32([2], 4, 12) }, 12), /4 bytes at the start of the data section \(before tensor 'a'\) belong to no tensor/],
    ['bytes after the last tensor', craft({ a: f32([2], 0, 8) }, 12), /4 bytes after the last tensor belong to no tensor/],
    ['metadata not an object', craft({ __metadata__: 'x' }), /__metadata__ must be an object of string values/],
    ['metadata value not a string', craft({ __metadata__: { format: 1 } }), /__metadata__ must map strings to strings, but 'format' holds 1/],
  ])('%s', (_, bytes, message) => {
    const error = inputErrorOf(() => parseSafetensors(bytes, FILE));
    expect(error.subject).toBe(FILE);
    expect(error.problem).toMatch(message);
    expect(error.message.startsWith(`${FILE}: `)).toBe(true);
  });
});

describe('parseSafetensors accepts valid files', () => {
  it('reads shapes, dtypes and byte views in any header order', () => {
    const bytes = craft({ b: f32([1, 2], 8, 16), __metadata__: { format: 'pt' }, a: f32([2], 0, 8) }, 16);
    const view = new DataView(bytes.buffer);
    [1, 2, 3, 4].forEach((v, i) => view.setFloat32(bytes.length - 16 + 4 * i, v, true));
    const entries = parseSafetensors(bytes, FILE);
    expect([...entries.keys()].sort()).toEqual(['a', 'b']);
    expect(entries.get('b')!.shape).toEqual([1, 2]);
    expect([...tensorToFloat32(entries.get('a')!)]).toEqual([1, 2]);
    expect([...tensorToFloat32(entries.get('b')!)]).toEqual([3, 4]);
    expect(entries.get('a')!.bytes.buffer).toBe(bytes.buffer);
    expect(safetensorsMetadata(bytes, FILE)).toEqual({ format: 'pt' });
  });

  it('accepts zero-element tensors and an empty file body', () => {
    const entries = parseSafetensors(craft({ empty: f32([0, 3], 0, 0) }), FILE);
    expect(entries.get('empty')!.bytes.length).toBe(0);
    expect(parseSafetensors(craft({}), FILE).size).toBe(0);
    expect(safetensorsMetadata(craft({}), FILE)).toEqual({});
  });

  it('converts an F32 tensor at an unaligned offset by copying', () => {
    // 'a' (one F16) shifts 'b' to data offset 2: not a multiple of 4.
    const header = { a: { dtype: 'F16', shape: [1], data_offsets: [0, 2] }, b: f32([1], 2, 6) };
    const json = JSON.stringify(header);
    const bytes = craft(json + ' '.repeat((8 - (json.length % 8)) % 8), 6);
    const dataStart = bytes.length - 6;
    new DataView(bytes.buffer).setUint16(dataStart, 0x3c00, true);
    new DataView(bytes.buffer).setFloat32(dataStart + 2, -1.5, true);
    const entries = parseSafetensors(bytes, FILE);
    expect([...tensorToFloat32(entries.get('a')!)]).toEqual([1]);
    const b = tensorToFloat32(entries.get('b')!);
    expect([...b]).toEqual([-1.5]);
    expect(b.buffer).not.toBe(bytes.buffer);
  });

  it('shares memory for aligned F32 tensors (no copy of large checkpoints)', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } });
    expect(tensorToFloat32(parseSafetensors(bytes, FILE).get('w')!).buffer).toBe(bytes.buffer);
  });
});

describe('encodeSafetensors', () => {
  const values = new Float32Array([1 / 3, 65504, 65520, 1e-8, -2, 0.1]);

  it('round-trips F32 exactly and F16 / BF16 with round-to-nearest-even (exact expected values)', () => {
    const bytes = encodeSafetensors({
      half: { dtype: 'F16', shape: [2, 3], data: values },
      brain: { dtype: 'BF16', shape: [6], data: values },
      full: { dtype: 'F32', shape: [3, 2], data: values },
    });
    const entries = parseSafetensors(bytes, FILE);
    expect(entries.get('full')!.shape).toEqual([3, 2]);
    expect([...tensorToFloat32(entries.get('full')!)]).toEqual([...values]);
    expect([...new Uint16Array(entries.get('half')!.bytes.slice().buffer)]).toEqual([
      0x3555, 0x7bff, 0x7c00, 0x0000, 0xc000, 0x2e66,
    ]);
    expect([...tensorToFloat32(entries.get('half')!)]).toEqual([0.333251953125, 65504, Infinity, 0, -2, 0.0999755859375]);
    expect([...new Uint16Array(entries.get('brain')!.bytes.slice().buffer)]).toEqual([
      0x3eab, 0x4780, 0x4780, 0x322c, 0xc000, 0x3dcd,
    ]);
    expect([...tensorToFloat32(entries.get('brain')!)]).toEqual([
      0.333984375, 65536, 65536, 1.0011717677116394e-8, -2, 0.10009765625,
    ]);
  });

  it('pads the header with spaces to a multiple of 8 and orders widest dtype first, then by name', () => {
    const bytes = encodeSafetensors(
      {
        z16: { dtype: 'F16', shape: [1], data: new Float32Array([1]) },
        b32: { dtype: 'F32', shape: [1], data: new Float32Array([2]) },
        a16: { dtype: 'BF16', shape: [1], data: new Float32Array([3]) },
        a32: { dtype: 'F32', shape: [1], data: new Float32Array([4]) },
      },
      { format: 'pt' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(text).toMatch(/^\{"__metadata__":\{"format":"pt"\},.*\} *$/);
    const header = JSON.parse(text) as Record<string, { data_offsets: number[] }>;
    expect(header.a32!.data_offsets).toEqual([0, 4]);
    expect(header.b32!.data_offsets).toEqual([4, 8]);
    expect(header.a16!.data_offsets).toEqual([8, 10]);
    expect(header.z16!.data_offsets).toEqual([10, 12]);
    expect(bytes.length).toBe(8 + headerLength + 12);
    expect(safetensorsMetadata(bytes, FILE)).toEqual({ format: 'pt' });
  });

  it.each<[string, Parameters<typeof encodeSafetensors>[0]]>([
    ['data length differs from the shape', { w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }],
    ['negative dimension', { w: { dtype: 'F32', shape: [-1], data: new Float32Array(1) } }],
    ['reserved name', { __metadata__: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }],
  ])('rejects a programming error: %s', (_, tensors) => {
    expect(() => encodeSafetensors(tensors)).toThrow(RangeError);
  });
});
