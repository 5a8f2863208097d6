import type { GpuEngine } from '../gpu/engine.ts';
import { floatType, type GpuTensor } from '../gpu/gpu-tensor.ts';
import { scaleAddKernel, typedKernel } from '../shaders/index.ts';

/** alpha * a + beta * b, elementwise. */
export function scaleAdd(engine: GpuEngine, a: GpuTensor, b: GpuTensor, alpha: number, beta: number, label = 'scale-add'): GpuTensor {
  if (a.size !== b.size) throw new Error(`scaleAdd: [${a.shape}] and [${b.shape}] differ in size`);
  const out = engine.empty(a.shape, floatType(a));
  engine.dispatch({
    kernel: typedKernel(scaleAddKernel, floatType(a)),
    label,
    params: { n: a.size, alpha, beta },
    buffers: { a, b, out },
    invocations: a.size,
  });
  return out;
}
