/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors).
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`,
 * then the data section; offsets are relative to its start. Tensors are row-major and
 * little-endian (as WebGPU buffers are, so typed-array views need no byte swapping).
 *
 * The reader checks everything the reference implementation checks (and names the file
 * and tensor at fault), because a checkpoint that is truncated or hand-edited would
 * otherwise load as silent garbage weights. Entries are views into the file bytes: no
 * copy is made until a tensor is converted.
 */
import { float16ArrayToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from './half-float.ts';
import { InputError } from './input-error.ts';
import { describeJson, isJsonObject } from './json-values.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

/** Dtypes the format defines that this engine stores but cannot compute with. */
export type UnsupportedSafetensorsDtype = 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'I32' | 'U32' | 'I64' | 'U64' | 'F64' | 'F8_E5M2' | 'F8_E4M3' | 'F8_E8M0';

export interface SafetensorsEntry {
  /** Unsupported dtypes parse (checkpoints carry e.g. I64 BatchNorm counters) but cannot be read. */
  dtype: SafetensorsDtype | UnsupportedSafetensorsDtype;
  /** Tensor and file name, for error messages. */
  name: string;
  file: string;
  shape: number[];
  /** The tensor's bytes: a view into the file, not a copy. */
  bytes: Uint8Array;
}

export interface SafetensorsTensorInput {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
const SUPPORTED = Object.keys(DTYPE_BYTES).join(', ');
/**
 * Dtypes parsed and size-checked but not readable as float32: a checkpoint may hold them
 * in tensors the model never reads (BatchNorm's I64 num_batches_tracked).
 */
const UNSUPPORTED_DTYPE_BYTES: Record<UnsupportedSafetensorsDtype, number> = {
  BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, I32: 4, U32: 4, I64: 8, U64: 8, F64: 8, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
};
/** Defined by the format, but sub-byte or complex: refused outright. */
const REFUSED_DTYPES = new Set(['C64', 'F6_E2M3', 'F6_E3M2', 'F4']);
type AnyDtype = SafetensorsDtype | UnsupportedSafetensorsDtype;
const ELEMENT_BYTES: Record<AnyDtype, number> = { ...DTYPE_BYTES, ...UNSUPPORTED_DTYPE_BYTES };
/** The reference implementation's limit (safetensors MAX_HEADER_SIZE). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

interface Header {
  tensors: Map<string, { dtype: AnyDtype; shape: number[]; begin: number; end: number }>;
  metadata: Record<string, string>;
  dataStart: number;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function readHeader(bytes: Uint8Array, fileName: string): Header {
  if (bytes.length < 8) {
    throw new InputError(
      fileName,
      `file is ${bytes.length} bytes, shorter than the 8-byte header length field: it is truncated or not a safetensors file`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw new InputError(
      fileName,
      `header length field says ${declared} bytes (the format allows at most ${MAX_HEADER_BYTES}): not a safetensors file, or a corrupt one`,
    );
  }
  const headerBytes = Number(declared);
  if (8 + headerBytes > bytes.length) {
    throw new InputError(
      fileName,
      `header length field says ${headerBytes} bytes but only ${bytes.length - 8} follow: the file is truncated (download it again)`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    throw new InputError(fileName, 'header is not valid UTF-8: not a safetensors file, or a corrupt one');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      fileName,
      `header is not valid JSON (${(error as Error).message}): not a safetensors file, or a corrupt one`,
    );
  }
  if (!isJsonObject(json)) {
    throw new InputError(
      fileName,
      `header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}, got ${describeJson(json)}`,
    );
  }

  const dataStart = 8 + headerBytes;
  const dataLength = bytes.length - dataStart;
  const metadata = readMetadata(json[METADATA_KEY], fileName);
  const tensors: Header['tensors'] = new Map();
  for (const [name, info] of Object.entries(json)) {
    if (name === METADATA_KEY) continue;
    tensors.set(name, readTensorInfo(name, info, dataLength, fileName));
  }
  checkContiguous(tensors, dataLength, fileName);
  return { tensors, metadata, dataStart };
}

function readMetadata(value: unknown, fileName: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isJsonObject(value)) {
    throw new InputError(fileName, `${METADATA_KEY} must be an object of string values, got ${describeJson(value)}`);
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new InputError(
        fileName,
        `${METADATA_KEY} must map strings to strings, but '${key}' holds ${describeJson(entry)}`,
      );
    }
  }
  return value as Record<string, string>;
}

function unsupportedDtype(fileName: string, name: string, dtype: string): InputError {
  return new InputError(
    fileName,
    `tensor '${name}' has dtype ${dtype}, which is not supported (supported: ${SUPPORTED}); ` +
      'convert the checkpoint to float32, e.g. save_file({k: v.float() for k, v in tensors.items()}, path)',
  );
}

function readTensorInfo(
  name: string,
  info: unknown,
  dataLength: number,
  fileName: string,
): { dtype: AnyDtype; shape: number[]; begin: number; end: number } {
  if (!isJsonObject(info)) {
    throw new InputError(
      fileName,
      `tensor '${name}' must be an object with dtype, shape and data_offsets, got ${describeJson(info)}`,
    );
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string') {
    throw new InputError(fileName, `tensor '${name}': dtype must be a string such as "F32", got ${describeJson(dtype)}`);
  }
  if (!(dtype in ELEMENT_BYTES)) {
    if (REFUSED_DTYPES.has(dtype)) throw unsupportedDtype(fileName, name, dtype);
    throw new InputError(fileName, `tensor '${name}' has unknown dtype "${dtype}" (supported: ${SUPPORTED})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new InputError(
      fileName,
      `tensor '${name}': shape must be an array of non-negative integers, got ${describeJson(shape)}`,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new InputError(
      fileName,
      `tensor '${name}': data_offsets must be [begin, end] with non-negative integers, got ${describeJson(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) {
    throw new InputError(fileName, `tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
  }
  const typed = dtype as AnyDtype;
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = elements * ELEMENT_BYTES[typed];
  if (!Number.isSafeInteger(expected) || expected !== end - begin) {
    throw new InputError(
      fileName,
      `tensor '${name}' (${typed}, shape [${shape.join(', ')}]) needs ${expected} bytes but its data_offsets ` +
        `[${begin}, ${end}] span ${end - begin}`,
    );
  }
  if (end > dataLength) {
    throw new InputError(
      fileName,
      `tensor '${name}' ends at byte ${end} of the data section, which holds only ${dataLength} bytes: ` +
        'the file is truncated (download it again)',
    );
  }
  return { dtype: typed, shape: shape as number[], begin, end };
}

/** Tensors must tile the data section exactly, as the reference implementation requires. */
function checkContiguous(tensors: Header['tensors'], dataLength: number, fileName: string): void {
  const sorted = [...tensors].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
  let previousName: string | undefined;
  let previousEnd = 0;
  for (const [name, { begin, end }] of sorted) {
    if (begin < previousEnd) {
      throw new InputError(
        fileName,
        `tensors '${previousName}' and '${name}' overlap (the first ends at byte ${previousEnd}, ` +
          `the second begins at ${begin}): the header is corrupt`,
      );
    }
    if (begin > previousEnd) {
      const where = previousName === undefined ? 'at the start of the data section' : `after tensor '${previousName}'`;
      throw new InputError(
        fileName,
        `${begin - previousEnd} bytes ${where} (before tensor '${name}') belong to no tensor: the header is corrupt`,
      );
    }
    previousName = name;
    previousEnd = end;
  }
  if (previousEnd !== dataLength) {
    throw new InputError(
      fileName,
      `${dataLength - previousEnd} bytes after the last tensor belong to no tensor: the file is corrupt`,
    );
  }
}

export function parseSafetensors(bytes: Uint8Array, fileName: string): Map<string, SafetensorsEntry> {
  const { tensors, dataStart } = readHeader(bytes, fileName);
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, { dtype, shape, begin, end }] of tensors) {
    entries.set(name, { dtype, name, file: fileName, shape, bytes: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  return entries;
}

/** The header's `__metadata__` string map ({} when absent), after validating the whole header. */
export function safetensorsMetadata(bytes: Uint8Array, fileName: string): Record<string, string> {
  return { ...readHeader(bytes, fileName).metadata };
}

/** Aligned views share memory with the entry; unaligned ones (odd offsets) are copied first. */
function alignedView<T>(bytes: Uint8Array, width: number, make: (b: ArrayBufferLike, o: number, n: number) => T): T {
  const source = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  return make(source.buffer, source.byteOffset, source.byteLength / width);
}

/**
 * The tensor as float32 (an InputError for dtypes other than F32, F16, BF16). F32 entries
 * at aligned offsets come back as a view sharing the file's memory (treat it as
 * read-only); everything else is a fresh array.
 */
export function tensorToFloat32(entry: SafetensorsEntry): Float32Array {
  switch (entry.dtype) {
    case 'F32':
      return alignedView(entry.bytes, 4, (b, o, n) => new Float32Array(b, o, n));
    case 'F16':
      return float16ArrayToFloat32(alignedView(entry.bytes, 2, (b, o, n) => new Uint16Array(b, o, n)));
    case 'BF16': {
      const halves = alignedView(entry.bytes, 2, (b, o, n) => new Uint16Array(b, o, n));
      const words = new Uint32Array(halves.length);
      for (let i = 0; i < halves.length; i++) words[i] = halves[i]! << 16;
      return new Float32Array(words.buffer);
    }
    default:
      throw unsupportedDtype(entry.file, entry.name, entry.dtype);
  }
}

function encodeData(tensor: SafetensorsTensorInput): Uint8Array {
  const { dtype, data } = tensor;
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const narrow = dtype === 'F16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
  const bits = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) bits[i] = narrow(data[i]!);
  return new Uint8Array(bits.buffer);
}

/**
 * Serializes tensors the way the reference writer does: widest dtype first, then by name
 * (so every tensor is aligned to its element size), and the JSON header padded with
 * spaces to a multiple of 8 bytes. F16/BF16 round to nearest even, as torch does.
 */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsTensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => {
    const width = DTYPE_BYTES[tensors[b]!.dtype] - DTYPE_BYTES[tensors[a]!.dtype];
    return width !== 0 ? width : a < b ? -1 : a > b ? 1 : 0;
  });
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header[METADATA_KEY] = metadata;
  const payloads: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const tensor = tensors[name]!;
    if (name === METADATA_KEY) throw new RangeError(`encodeSafetensors: '${METADATA_KEY}' is reserved`);
    const shape: readonly unknown[] = tensor.shape;
    if (!shape.every(isCount)) {
      throw new RangeError(`encodeSafetensors: tensor '${name}' has an invalid shape [${shape.join(', ')}]`);
    }
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (elements !== tensor.data.length) {
      throw new RangeError(
        `encodeSafetensors: tensor '${name}' has shape [${tensor.shape.join(', ')}] (${elements} elements) but ${tensor.data.length} values`,
      );
    }
    const payload = encodeData(tensor);
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + payload.length] };
    payloads.push(payload);
    offset += payload.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const payload of payloads) {
    out.set(payload, position);
    position += payload.length;
  }
  return out;
}
