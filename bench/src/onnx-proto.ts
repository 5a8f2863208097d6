// Minimal ONNX protobuf encoder: just the messages needed to write an inference graph
// with float32 initializers. Field numbers follow onnx/onnx.proto (proto2). Repeated
// scalars are written unpacked, as proto2 declares them; parsers accept both forms.

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

export const TensorDataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type TensorDataType = (typeof TensorDataType)[keyof typeof TensorDataType];

export type AttributeValue = number | number[] | string | { float: number } | { floats: number[] };

export interface OnnxAttribute {
  name: string;
  value: AttributeValue;
}

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: OnnxAttribute[];
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: TensorDataType;
  /** Little-endian element bytes, as TensorProto.raw_data stores them. */
  rawData: Uint8Array;
}

/** A dimension is either fixed (number) or symbolic (a dim_param name such as "batch"). */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  elemType: TensorDataType;
  dims: OnnxDim[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  graph: OnnxGraph;
  producerName: string;
  opset: number;
  irVersion: number;
}

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH_DELIMITED = 2;

const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

const textEncoder = new TextEncoder();

/**
 * Accumulates a message as a list of byte chunks so that large payloads (initializers)
 * are referenced, not copied, until the single concatenation in `finish()`.
 */
class ProtoWriter {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  private scratch: number[] = [];

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.length += this.scratch.length;
    this.scratch = [];
  }

  private pushBytes(bytes: Uint8Array): void {
    this.flushScratch();
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** int64/int32/enum varint; negative values use the 10-byte two's-complement form. */
  varint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new Error(`varint needs a safe integer, got ${value}`);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int64Field(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  floatField(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    for (const b of bytes) this.scratch.push(b);
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(bytes.length);
    this.pushBytes(bytes);
  }

  stringField(field: number, value: string): void {
    this.bytesField(field, textEncoder.encode(value));
  }

  messageField(field: number, message: ProtoWriter): void {
    message.flushScratch();
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(message.length);
    this.flushScratch();
    for (const chunk of message.chunks) this.chunks.push(chunk);
    this.length += message.length;
  }

  finish(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

function encodeAttribute(attribute: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter();
  w.stringField(1, attribute.name);
  const { value } = attribute;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) {
      throw new Error(`attribute ${attribute.name}: use { float: ${value} } for float attributes`);
    }
    w.int64Field(3, value);
    w.int64Field(20, ATTRIBUTE_TYPE.INT);
  } else if (typeof value === 'string') {
    w.stringField(4, value);
    w.int64Field(20, ATTRIBUTE_TYPE.STRING);
  } else if (Array.isArray(value)) {
    for (const v of value) w.int64Field(8, v);
    w.int64Field(20, ATTRIBUTE_TYPE.INTS);
  } else if ('float' in value) {
    w.floatField(2, value.float);
    w.int64Field(20, ATTRIBUTE_TYPE.FLOAT);
  } else {
    for (const v of value.floats) w.floatField(7, v);
    w.int64Field(20, ATTRIBUTE_TYPE.FLOATS);
  }
  return w;
}

function encodeNode(node: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.stringField(1, input);
  for (const output of node.outputs) w.stringField(2, output);
  w.stringField(3, node.name);
  w.stringField(4, node.opType);
  for (const attribute of node.attributes) w.messageField(5, encodeAttribute(attribute));
  return w;
}

function encodeTensor(tensor: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of tensor.dims) w.int64Field(1, d);
  w.int64Field(2, tensor.dataType);
  w.stringField(8, tensor.name);
  w.bytesField(9, tensor.rawData);
  return w;
}

function encodeValueInfo(info: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of info.dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int64Field(1, d);
    else dim.stringField(2, d);
    shape.messageField(1, dim);
  }
  const tensorType = new ProtoWriter();
  tensorType.int64Field(1, info.elemType);
  tensorType.messageField(2, shape);
  const type = new ProtoWriter();
  type.messageField(1, tensorType);
  const w = new ProtoWriter();
  w.stringField(1, info.name);
  w.messageField(2, type);
  return w;
}

function encodeGraph(graph: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  for (const node of graph.nodes) w.messageField(1, encodeNode(node));
  w.stringField(2, graph.name);
  for (const tensor of graph.initializers) w.messageField(5, encodeTensor(tensor));
  for (const input of graph.inputs) w.messageField(11, encodeValueInfo(input));
  for (const output of graph.outputs) w.messageField(12, encodeValueInfo(output));
  return w;
}

/** Serializes a ModelProto with a single default-domain opset import. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const opset = new ProtoWriter();
  opset.stringField(1, '');
  opset.int64Field(2, model.opset);
  const w = new ProtoWriter();
  w.int64Field(1, model.irVersion);
  w.stringField(2, model.producerName);
  w.messageField(7, encodeGraph(model.graph));
  w.messageField(8, opset);
  return w.finish();
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** raw_data is little-endian; typed arrays use host order, which must therefore be LE. */
export function float32Raw(data: Float32Array): Uint8Array {
  if (!littleEndian) throw new Error('ONNX raw_data encoding assumes a little-endian host');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function int64Raw(values: readonly number[]): Uint8Array {
  const out = new BigInt64Array(values.map((v) => BigInt(v)));
  if (!littleEndian) throw new Error('ONNX raw_data encoding assumes a little-endian host');
  return new Uint8Array(out.buffer);
}
