import {
  encodeOnnxModel,
  float32Raw,
  int64Raw,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  TensorDataType,
  type AttributeValue,
  type OnnxDim,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './onnx-proto.ts';

/** A named float32 tensor, row-major. Weight maps use timm parameter names as keys. */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export type WeightMap = Map<string, WeightTensor>;

export interface OnnxExportOptions {
  /** Fixed batch size, as a default PyTorch export records it; omit for a symbolic "batch" dim. */
  batch?: number;
}

/** Input (NCHW float32 images) and output (float32 logits) names of every graph built here. */
export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'logits';

/**
 * Collects nodes and initializers while naming intermediate values uniquely, so model
 * builders read like the forward pass they encode.
 */
export class OnnxGraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private readonly usedNames = new Set<string>();
  private readonly int64Constants = new Map<string, string>();
  private readonly floatConstants = new Map<number, string>();

  constructor(private readonly graphName: string) {}

  private uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  input(name: string, dims: OnnxDim[]): string {
    this.usedNames.add(name);
    this.inputs.push({ name, elemType: TensorDataType.FLOAT, dims });
    return name;
  }

  output(name: string, dims: OnnxDim[]): void {
    this.outputs.push({ name, elemType: TensorDataType.FLOAT, dims });
  }

  floatInitializer(name: string, dims: number[], data: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new Error(`initializer ${name}: shape [${dims}] holds ${count} values, data has ${data.length}`);
    }
    const unique = this.uniqueName(name);
    this.initializers.push({ name: unique, dims, dataType: TensorDataType.FLOAT, rawData: float32Raw(data) });
    return unique;
  }

  /** Shared int64 constant (shapes, axes, indices); `dims` [] makes a scalar. */
  int64Constant(values: number[], dims: number[] = [values.length]): string {
    const key = `${dims.join('x')}:${values.join(',')}`;
    const existing = this.int64Constants.get(key);
    if (existing) return existing;
    const name = this.uniqueName(`const_i64_${values.join('_').replaceAll('-', 'm')}`);
    this.initializers.push({ name, dims, dataType: TensorDataType.INT64, rawData: int64Raw(values) });
    this.int64Constants.set(key, name);
    return name;
  }

  /** Shared float32 scalar constant. */
  floatScalar(value: number): string {
    const existing = this.floatConstants.get(value);
    if (existing) return existing;
    const name = this.uniqueName(`const_f32_${this.floatConstants.size}`);
    this.initializers.push({
      name,
      dims: [],
      dataType: TensorDataType.FLOAT,
      rawData: float32Raw(new Float32Array([value])),
    });
    this.floatConstants.set(value, name);
    return name;
  }

  /** Adds a node with one output per entry of `outputNames` and returns their names. */
  nodeMulti(
    opType: string,
    inputs: string[],
    outputNames: string[],
    attributes: Record<string, AttributeValue> = {},
  ): string[] {
    const outputs = outputNames.map((n) => this.uniqueName(n));
    this.nodes.push({
      opType,
      inputs,
      outputs,
      name: this.uniqueName(`${opType}_${this.nodes.length}`),
      attributes: Object.entries(attributes).map(([name, value]) => ({ name, value })),
    });
    return outputs;
  }

  node(opType: string, inputs: string[], outputName: string, attributes: Record<string, AttributeValue> = {}): string {
    const [output] = this.nodeMulti(opType, inputs, [outputName], attributes);
    return output as string;
  }

  /** Renames the last node's output so graph outputs keep a stable public name. */
  nameLastOutput(name: string): string {
    const last = this.nodes[this.nodes.length - 1];
    if (!last || last.outputs.length !== 1) throw new Error('nameLastOutput needs a single-output last node');
    this.usedNames.add(name);
    last.outputs[0] = name;
    return name;
  }

  encode(): Uint8Array {
    return encodeOnnxModel({
      graph: {
        name: this.graphName,
        nodes: this.nodes,
        initializers: this.initializers,
        inputs: this.inputs,
        outputs: this.outputs,
      },
      producerName: 'moxi-bench',
      opset: ONNX_OPSET,
      irVersion: ONNX_IR_VERSION,
    });
  }
}

export function requireWeight(weights: WeightMap, name: string, shape: readonly number[]): WeightTensor {
  const w = weights.get(name);
  if (!w) throw new Error(`weights map lacks "${name}" (expected shape [${shape}]); pass timm parameter names`);
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`weight "${name}" has shape [${w.shape}], expected [${shape}]`);
  }
  return w;
}

/** Transposes a row-major [rows, cols] matrix; PyTorch exports Linear on 3-D inputs as MatMul with W^T. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number;
  }
  return out;
}
