import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import { ParamWriter } from '../gpu/uniform-arena.ts';
import { activationBackwardKernel } from '../shaders/index.ts';
import { grid2d } from './grid.ts';

/**
 * dx = dy * act'(v), elementwise. For GELU pass the pre-activation; for ReLU its output
 * (what the forward pass keeps anyway).
 */
export function activationBackward(engine: GpuEngine, v: GpuTensor, dy: GpuTensor, activation: 'gelu' | 'relu', label = `${activation}-backward`): GpuTensor {
  const dx = engine.empty(dy.shape);
  engine.dispatch({
    kernel: activationBackwardKernel,
    label,
    constants: { ACTIVATION: activation === 'gelu' ? 1 : 2 },
    params: new ParamWriter().u32(dy.size).bytes(),
    buffers: [v, dy, dx],
    workgroups: grid2d(engine, dy.size, 256),
  });
  return dx;
}
