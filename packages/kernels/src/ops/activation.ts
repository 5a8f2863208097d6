import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import { activationKernel } from '../shaders/index.ts';

function activationPass(engine: GpuEngine, mode: number, v: GpuTensor, dy: GpuTensor | undefined, label: string): GpuTensor {
  const out = engine.empty(v.shape);
  engine.dispatch({
    kernel: activationKernel,
    label,
    constants: { MODE: mode },
    params: { n: v.size },
    buffers: { v, dy, out },
    invocations: v.size,
  });
  return out;
}

/** GELU (erf) as a separate pass, for the gradient pass that keeps the pre-activation. */
export function gelu(engine: GpuEngine, pre: GpuTensor, label = 'gelu'): GpuTensor {
  return activationPass(engine, 0, pre, undefined, label);
}

/**
 * dx = dy * act'(v), elementwise. For GELU pass the pre-activation; for ReLU its output
 * (what the forward pass keeps anyway).
 */
export function activationBackward(engine: GpuEngine, v: GpuTensor, dy: GpuTensor, activation: 'gelu' | 'relu', label = `${activation}-backward`): GpuTensor {
  if (v.size !== dy.size) throw new Error(`activationBackward: [${v.shape}] and [${dy.shape}] differ`);
  return activationPass(engine, activation === 'gelu' ? 1 : 2, v, dy, label);
}
