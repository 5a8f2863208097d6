import type { GpuEngine } from '../gpu/engine.ts';
import { floatType, type GpuTensor } from '../gpu/gpu-tensor.ts';
import { layerNormBackwardKernel, layerNormKernel, typedKernel } from '../shaders/index.ts';

export interface LayerNormWeights {
  weight: GpuTensor;
  bias: GpuTensor;
  eps: number;
}

export interface RowSelection {
  /** How many rows to normalise. */
  rows: number;
  /** Elements between consecutive selected rows (D for all rows, T * D for one per sequence). */
  rowStride: number;
  /** Element offset of the first selected row. */
  rowOffset: number;
}

/** LayerNorm over the last dimension D; optionally over a strided subset of rows. */
export function layerNorm(engine: GpuEngine, x: GpuTensor, norm: LayerNormWeights, select?: RowSelection, label = 'layernorm'): GpuTensor {
  const D = norm.weight.size;
  const rows = select?.rows ?? x.size / D;
  const out = engine.empty(select ? [rows, D] : x.shape, floatType(x));
  engine.dispatch({
    kernel: typedKernel(layerNormKernel, floatType(x)),
    label,
    params: { rows, D, rowStride: select?.rowStride ?? D, rowOffset: select?.rowOffset ?? 0, eps: norm.eps },
    buffers: { x, weight: norm.weight, bias: norm.bias, out },
    invocations: rows,
  });
  return out;
}

/** Input gradient of LayerNorm over every row of x, plus `residual` when given. */
export function layerNormBackward(engine: GpuEngine, x: GpuTensor, norm: LayerNormWeights, dy: GpuTensor, residual?: GpuTensor, label = 'layernorm-backward'): GpuTensor {
  const D = norm.weight.size;
  const rows = x.size / D;
  const dx = engine.empty(x.shape);
  engine.dispatch({
    kernel: layerNormBackwardKernel,
    label,
    constants: { HAS_RESIDUAL: residual !== undefined },
    params: { rows, D, eps: norm.eps },
    buffers: { x, weight: norm.weight, dy, residual, dx },
    invocations: rows,
  });
  return dx;
}
