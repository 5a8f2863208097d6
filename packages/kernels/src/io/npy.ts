/**
 * NumPy `.npy` reader and writer for float32 arrays, the format of pre-normalized model
 * inputs (`--input x.npy`) and of the PyTorch golden files.
 *
 * Layout (numpy.lib.format): magic `\x93NUMPY`, version byte pair, header length
 * (u16 LE for 1.0, u32 LE for 2.0 and 3.0), then a Python dict literal
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 224, 224), }` padded with spaces
 * and a newline, then the raw data. Only little-endian float32 in C order is accepted:
 * anything else would need a silent conversion, and the fix on the Python side is one call.
 */
import { elementCount, type HostTensor } from '../host-tensor.ts';
import { InputError } from './input-error.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

type PyValue = string | boolean | number[];

/** Names for the descr codes users are likely to hand us, to say what they saved. */
const DTYPE_NAMES: Record<string, string> = {
  f2: 'float16', f4: 'float32', f8: 'float64', f16: 'float128',
  i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool',
};

/**
 * Parses the header dict literal. numpy writes it with repr(), so only string keys and
 * string / bool / int-tuple values occur; anything else is a malformed file.
 */
function parseHeaderDict(text: string, fileName: string): Map<string, PyValue> {
  let i = 0;
  const fail = (what: string): never => {
    throw new InputError(fileName, `malformed .npy header (${what} at character ${i}): ${JSON.stringify(text.trim())}`);
  };
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (char: string): void => {
    skipSpace();
    if (text[i] !== char) fail(`expected '${char}'`);
    i++;
  };
  const readString = (): string => {
    skipSpace();
    const quote = text[i];
    if (quote !== "'" && quote !== '"') fail('expected a string');
    const close = text.indexOf(quote!, i + 1);
    if (close < 0) fail('unterminated string');
    const value = text.slice(i + 1, close);
    i = close + 1;
    return value;
  };
  const readValue = (): PyValue => {
    skipSpace();
    const char = text[i];
    if (char === "'" || char === '"') return readString();
    if (text.startsWith('True', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('False', i)) {
      i += 5;
      return false;
    }
    if (char === '(') {
      i++;
      const items: number[] = [];
      for (;;) {
        skipSpace();
        if (text[i] === ')') break;
        const match = /^\d+L?/.exec(text.slice(i));
        if (!match) fail('expected a dimension');
        items.push(Number.parseInt(match![0], 10));
        i += match![0].length;
        skipSpace();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') fail("expected ',' or ')'");
      }
      i++;
      return items;
    }
    return fail('unexpected value');
  };

  const entries = new Map<string, PyValue>();
  expect('{');
  for (;;) {
    skipSpace();
    if (text[i] === '}') break;
    const key = readString();
    expect(':');
    entries.set(key, readValue());
    skipSpace();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail("expected ',' or '}'");
  }
  i++;
  skipSpace();
  if (i !== text.length) fail('unexpected text after the dict');
  return entries;
}

function dtypeFix(descr: string): string {
  const order = descr[0];
  const name = DTYPE_NAMES[descr.slice(1)];
  if (name === 'float32' && order === '>') {
    return `big-endian float32 ('${descr}') is not supported: save with arr.astype('<f4')`;
  }
  const what = name === undefined ? `dtype '${descr}'` : `dtype ${name} ('${descr}')`;
  return `${what} is not supported, only float32: save with np.save(path, arr.astype(np.float32))`;
}

export function parseNpy(bytes: Uint8Array, fileName: string): HostTensor {
  if (bytes.length < 10 || MAGIC.some((byte, k) => bytes[k] !== byte)) {
    throw new InputError(fileName, 'not a .npy file (missing the \\x93NUMPY magic); save arrays with np.save');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (minor !== 0 || major < 1 || major > 3) {
    throw new InputError(fileName, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) {
    throw new InputError(fileName, 'file ends inside the .npy header: it is truncated');
  }
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) {
    throw new InputError(fileName, 'file ends inside the .npy header: it is truncated');
  }
  let headerText: string;
  try {
    // Versions 1 and 2 promise latin-1, 3 utf-8; numpy itself only writes ASCII here.
    headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(
      bytes.subarray(headerStart, dataStart),
    );
  } catch {
    throw new InputError(fileName, 'the .npy header is not valid text: the file is corrupt');
  }
  const header = parseHeaderDict(headerText, fileName);
  const descr = header.get('descr');
  const fortranOrder = header.get('fortran_order');
  const shape = header.get('shape');
  if (typeof descr !== 'string' || typeof fortranOrder !== 'boolean' || !Array.isArray(shape)) {
    throw new InputError(fileName, `malformed .npy header, needs descr, fortran_order and shape: ${headerText.trim()}`);
  }
  if (descr !== '<f4') throw new InputError(fileName, dtypeFix(descr));
  if (fortranOrder) {
    throw new InputError(
      fileName,
      'array is stored in Fortran (column-major) order; save a C-order copy: np.save(path, np.ascontiguousarray(arr))',
    );
  }
  const count = elementCount(shape);
  if (count === 0) {
    throw new InputError(fileName, `array is empty (shape (${shape.join(', ')})): nothing to read`);
  }
  const available = bytes.length - dataStart;
  if (available < count * 4) {
    throw new InputError(
      fileName,
      `shape (${shape.join(', ')}) needs ${count * 4} bytes of float32 data but only ${available} follow the header: the file is truncated`,
    );
  }
  if (available > count * 4) {
    throw new InputError(
      fileName,
      `${available - count * 4} unexpected bytes after the data of shape (${shape.join(', ')}): the file is corrupt`,
    );
  }
  // slice() copies into a fresh, aligned buffer; little-endian like every WebGPU host.
  const data = new Float32Array(bytes.slice(dataStart, dataStart + count * 4).buffer);
  return { shape: [...shape], data };
}

function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** numpy leaves room to grow the first axis in place (numpy.lib.format GROWTH_AXIS_MAX_DIGITS). */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** Writes the bytes np.save writes: version 1.0 unless the header outgrows 64 KiB. */
export function encodeNpy(tensor: HostTensor): Uint8Array {
  const count = elementCount(tensor.shape);
  if (count !== tensor.data.length) {
    throw new RangeError(
      `encodeNpy: shape [${tensor.shape.join(', ')}] holds ${count} values but data has ${tensor.data.length}`,
    );
  }
  const growth = tensor.shape.length > 0 ? GROWTH_AXIS_MAX_DIGITS - String(tensor.shape[0]).length : 0;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeRepr(tensor.shape)}, }` + ' '.repeat(growth);
  // Spaces then a newline pad the header so the data starts on a 64-byte boundary;
  // like numpy, a header that is already aligned still gets 64 spaces.
  const padded = (prefix: number): number => dict.length + 1 + 64 - ((prefix + dict.length + 1) % 64);
  const major = padded(10) > 65535 ? 2 : 1;
  const prefix = major === 1 ? 10 : 12;
  const headerLength = padded(prefix);
  const out = new Uint8Array(prefix + headerLength + count * 4);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  const text = dict.padEnd(headerLength - 1, ' ') + '\n';
  for (let k = 0; k < text.length; k++) out[prefix + k] = text.charCodeAt(k);
  out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, count * 4), prefix + headerLength);
  return out;
}
