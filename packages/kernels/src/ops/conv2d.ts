import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import { kernelConst } from '../gpu/kernel-spec.ts';
import { conv2dBackwardKernel, conv2dKernel, globalAvgPoolKernel, maxPoolBackwardKernel, maxPoolKernel, nhwcToNchwKernel } from '../shaders/index.ts';

/** Output pixels x vec4s of output channels one invocation of conv2d.wgsl owns. */
const ROWS_PER_INVOCATION = kernelConst(conv2dKernel, 'ROWS');
const VEC4_COLUMNS_PER_INVOCATION = kernelConst(conv2dKernel, 'COLS4');
/** Input pixels one invocation of conv2d-backward.wgsl owns, for one vec4 of channels. */
const BACKWARD_ROWS_PER_INVOCATION = kernelConst(conv2dBackwardKernel, 'ROWS');

/**
 * A convolution in kernel layout: weight [KH * KW * IC, OC] (k = ky, kx, ic), BatchNorm
 * folded, OC a multiple of 4 (the kernel moves 4 channels at a time; pad with zero filters).
 */
export interface ConvWeights {
  weight: GpuTensor;
  bias: GpuTensor;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

export interface ConvOptions {
  relu?: boolean;
  /** Added before the ReLU: a residual block's shortcut, shaped like the output. */
  residual?: GpuTensor;
  label?: string;
}

/** The Params of conv2d.wgsl and conv2d-backward.wgsl; M is the pixel count the GEMM runs over. */
function convParams(M: number, [H, W, C]: readonly [number, number, number], [OH, OW, OC]: readonly [number, number, number], conv: ConvWeights): Record<string, number> {
  return { M, H, W, C, OH, OW, OC, KH: conv.kernel, KW: conv.kernel, stride: conv.stride, pad: conv.padding };
}

/** The Params of max-pool.wgsl and max-pool-backward.wgsl; total is the invocation count. */
function maxPoolParams(total: number, [H, W, C]: readonly [number, number, number], [OH, OW]: readonly [number, number], kernel: number, stride: number, padding: number): Record<string, number> {
  return { total, H, W, C, OH, OW, kernel, stride, pad: padding };
}

/** NHWC convolution [B, H, W, IC] -> [B, OH, OW, OC]. */
export function conv2d(engine: GpuEngine, x: GpuTensor, conv: ConvWeights, options: ConvOptions = {}): GpuTensor {
  const [B = 1, H = 1, W = 1, C = 1] = x.shape;
  if (C !== conv.inChannels) throw new Error(`conv2d: input has ${C} channels, weight expects ${conv.inChannels}`);
  if (conv.outChannels % 4 !== 0) throw new Error(`conv2d: ${conv.outChannels} output channels; pad to a multiple of 4`);
  const OH = convOutputSize(H, conv.kernel, conv.stride, conv.padding);
  const OW = convOutputSize(W, conv.kernel, conv.stride, conv.padding);
  const OC = conv.outChannels;
  // The kernel moves output channels as vec4s (OC is a multiple of 4).
  const OC4 = OC / 4;
  const M = B * OH * OW;
  const out = engine.empty([B, OH, OW, OC]);
  if (options.residual && options.residual.size !== out.size) {
    throw new Error(`conv2d: residual [${options.residual.shape}] does not fit [${out.shape}]`);
  }
  engine.dispatch({
    kernel: conv2dKernel,
    label: options.label ?? 'conv2d',
    constants: { HAS_RESIDUAL: options.residual !== undefined, RELU: options.relu === true },
    params: convParams(M, [H, W, C], [OH, OW, OC], conv),
    buffers: { input: x, weight: conv.weight, bias: conv.bias, residual: options.residual, out },
    invocations: [Math.ceil(OC4 / VEC4_COLUMNS_PER_INVOCATION), Math.ceil(M / ROWS_PER_INVOCATION)],
  });
  return out;
}

/** NHWC max pooling (square window), padding ignored as PyTorch's -inf padding is. */
export function maxPool2d(engine: GpuEngine, x: GpuTensor, kernel: number, stride: number, padding: number, label = 'max-pool'): GpuTensor {
  const [B = 1, H = 1, W = 1, C = 1] = x.shape;
  const OH = convOutputSize(H, kernel, stride, padding);
  const OW = convOutputSize(W, kernel, stride, padding);
  const out = engine.empty([B, OH, OW, C]);
  engine.dispatch({
    kernel: maxPoolKernel,
    label,
    params: maxPoolParams(out.size, [H, W, C], [OH, OW], kernel, stride, padding),
    buffers: { input: x, out },
    invocations: out.size,
  });
  return out;
}

/** NHWC [B, H, W, C] -> [B, C] mean over pixels. */
export function globalAvgPool(engine: GpuEngine, x: GpuTensor, label = 'global-avg-pool'): GpuTensor {
  const [B = 1, H = 1, W = 1, C = 1] = x.shape;
  const out = engine.empty([B, C]);
  engine.dispatch({
    kernel: globalAvgPoolKernel,
    label,
    params: { total: B * C, pixels: H * W, C },
    buffers: { input: x, out },
    invocations: B * C,
  });
  return out;
}

/** Input gradient of conv2d: dy [B, OH, OW, OC] -> dx [B, H, W, IC] (+ residual). */
export function conv2dBackward(engine: GpuEngine, dy: GpuTensor, conv: ConvWeights, inputShape: readonly number[], residual?: GpuTensor, label = 'conv2d-backward'): GpuTensor {
  const [B = 1, H = 1, W = 1, C = 1] = inputShape;
  const [, OH = 1, OW = 1, OC = 1] = dy.shape;
  const M = B * H * W;
  // One vec4 of input channels per invocation (the last one clamped when C is not a multiple of 4).
  const C4 = Math.ceil(C / 4);
  const dx = engine.empty(inputShape);
  engine.dispatch({
    kernel: conv2dBackwardKernel,
    label,
    constants: { HAS_RESIDUAL: residual !== undefined },
    params: convParams(M, [H, W, C], [OH, OW, OC], conv),
    buffers: { dy, weight: conv.weight, residual, dx },
    invocations: [C4, Math.ceil(M / BACKWARD_ROWS_PER_INVOCATION)],
  });
  return dx;
}

/** Gradient of maxPool2d, routed to each window's (first) maximum. */
export function maxPool2dBackward(engine: GpuEngine, x: GpuTensor, dy: GpuTensor, kernel: number, stride: number, padding: number, label = 'max-pool-backward'): GpuTensor {
  const [, H = 1, W = 1, C = 1] = x.shape;
  const [, OH = 1, OW = 1] = dy.shape;
  const dx = engine.empty(x.shape);
  engine.dispatch({
    kernel: maxPoolBackwardKernel,
    label,
    params: maxPoolParams(dx.size, [H, W, C], [OH, OW], kernel, stride, padding),
    buffers: { input: x, dy, dx },
    invocations: dx.size,
  });
  return dx;
}

/** NHWC [B, H, W, C] -> NCHW [B, C, H, W]. */
export function nhwcToNchw(engine: GpuEngine, x: GpuTensor, label = 'nhwc-to-nchw'): GpuTensor {
  const [B = 1, H = 1, W = 1, C = 1] = x.shape;
  const out = engine.empty([B, C, H, W]);
  engine.dispatch({
    kernel: nhwcToNchwKernel,
    label,
    params: { total: out.size, C, pixels: H * W },
    buffers: { x, out },
    invocations: out.size,
  });
  return out;
}
