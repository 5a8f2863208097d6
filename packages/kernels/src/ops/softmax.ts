import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import { softmaxKernel } from '../shaders/index.ts';

/** Softmax over the last dimension. */
export function softmax(engine: GpuEngine, x: GpuTensor, label = 'softmax'): GpuTensor {
  const N = x.shape[x.shape.length - 1] ?? 1;
  const rows = x.size / N;
  const out = engine.empty(x.shape);
  engine.dispatch({
    kernel: softmaxKernel,
    label,
    params: { rows, N },
    buffers: { x, out },
    invocations: rows,
  });
  return out;
}
