import { describe, expect, it } from 'vitest';
import { inputErrorOf } from '../helpers/input-error.ts';
import { encodeNpy, parseNpy } from '../../src/io/npy.ts';
import { fixtureArray, fixtureBytes, manifest } from './fixtures.ts';

const FILE = 'input.npy';

/** A .npy file with the given header dict text and data byte count (version 1.0 unless told). */
function craft(dict: string, dataBytes: number, version: [number, number] = [1, 0]): Uint8Array {
  const prefix = version[0] === 1 ? 10 : 12;
  const header = dict + '\n';
  const out = new Uint8Array(prefix + header.length + dataBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version[0], version[1]]);
  const view = new DataView(out.buffer);
  if (version[0] === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  return out;
}

const header = (descr: string, fortran: string, shape: string) =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

describe('parseNpy', () => {
  it.each(manifest.npy.map((c) => [c.file, c] as const))('reads %s written by numpy (exact)', (_, c) => {
    const tensor = parseNpy(fixtureBytes(c.file), c.file);
    expect(tensor.shape).toEqual(c.shape);
    expect(tensor.data).toEqual(fixtureArray(c.values, (b) => new Float32Array(b)));
  });

  it('reads scalars, 1-D shapes and double-quoted / long-integer headers', () => {
    const scalar = craft(header('<f4', 'False', '()'), 4);
    new DataView(scalar.buffer).setFloat32(scalar.length - 4, 2.5, true);
    expect(parseNpy(scalar, FILE)).toEqual({ shape: [], data: new Float32Array([2.5]) });
    expect(parseNpy(craft(header('<f4', 'False', '(3,)'), 12), FILE).shape).toEqual([3]);
    const python2 = `{"descr": "<f4", "fortran_order": False, "shape": (2L, 1L)}`;
    expect(parseNpy(craft(python2, 8), FILE).shape).toEqual([2, 1]);
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['bad magic', new TextEncoder().encode('PK\u0003\u0004 not numpy at all'), /not a \.npy file \(missing the \\x93NUMPY magic\)/],
    ['too short for the magic', new Uint8Array([0x93, 0x4e]), /not a \.npy file/],
    ['unknown version', craft(header('<f4', 'False', '(1,)'), 4, [4, 0]), /unsupported \.npy format version 4\.0/],
    ['header longer than the file', craft(header('<f4', 'False', '(1,)'), 4).subarray(0, 30), /file ends inside the \.npy header/],
    ['malformed header', craft("{'descr': '<f4', 'shape': [1]}", 4), /malformed \.npy header \(unexpected value/],
    ['header missing shape', craft("{'descr': '<f4', 'fortran_order': False}", 4), /needs descr, fortran_order and shape/],
    ['fortran order', craft(header('<f4', 'True', '(2, 2)'), 16), /Fortran \(column-major\) order; save a C-order copy: np\.save\(path, np\.ascontiguousarray\(arr\)\)/],
    ['float64', craft(header('<f8', 'False', '(2,)'), 16), /dtype float64 \('<f8'\) is not supported, only float32: save with np\.save\(path, arr\.astype\(np\.float32\)\)/],
    ['float16', craft(header('<f2', 'False', '(2,)'), 4), /dtype float16 \('<f2'\) is not supported.*np\.float32/],
    ['int64', craft(header('<i8', 'False', '(2,)'), 16), /dtype int64 \('<i8'\) is not supported/],
    ['uint8', craft(header('|u1', 'False', '(2,)'), 2), /dtype uint8 \('\|u1'\)/],
    ['object arrays', craft(header('|O', 'False', '(2,)'), 16), /dtype '\|O' is not supported.*np\.float32/],
    ['big-endian float32', craft(header('>f4', 'False', '(2,)'), 8), /big-endian float32 \('>f4'\) is not supported: save with arr\.astype\('<f4'\)/],
    ['empty array', craft(header('<f4', 'False', '(0, 3)'), 0), /array is empty \(shape \(0, 3\)\)/],
    ['truncated data', craft(header('<f4', 'False', '(2, 3)'), 20), /shape \(2, 3\) needs 24 bytes of float32 data but only 20 follow the header: the file is truncated/],
    ['trailing bytes', craft(header('<f4', 'False', '(2,)'), 12), /4 unexpected bytes after the data/],
  ])('rejects %s with an InputError naming the file', (_, bytes, message) => {
    const error = inputErrorOf(() => parseNpy(bytes, FILE));
    expect(error.subject).toBe(FILE);
    expect(error.problem).toMatch(message);
  });
});

describe('encodeNpy', () => {
  it.each(['timm-bicubic-64x48.npy', 'hf-vit.npy', 'npy-v1.npy'])('writes the bytes np.save wrote for %s', (file) => {
    const bytes = fixtureBytes(file);
    expect(encodeNpy(parseNpy(bytes, file))).toEqual(bytes);
  });

  it.each([[[]], [[5]], [[1, 3, 8, 8]], [[100000, 1]]])('round-trips shape %j', (shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: size }, (_, i) => i - 0.5);
    expect(parseNpy(encodeNpy({ shape, data }), FILE)).toEqual({ shape, data });
  });

  it('pads the header so data starts on a 64-byte boundary, ending with a newline', () => {
    const bytes = encodeNpy({ shape: [2, 2], data: new Float32Array(4) });
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLength) % 64).toBe(0);
    expect(bytes[10 + headerLength - 1]).toBe(0x0a);
  });

  it('rejects data that does not match the shape', () => {
    expect(() => encodeNpy({ shape: [2, 2], data: new Float32Array(3) })).toThrow(RangeError);
  });
});
