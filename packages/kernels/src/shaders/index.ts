/// <reference path="./wgsl.d.ts" />
// Every WGSL kernel with its binding layout. The .wgsl files are the source of truth;
// bundlers inline them as strings (see wgsl-loader.ts).
import type { KernelSpec } from '../gpu/kernel-spec.ts';
import activationSource from './activation.wgsl';
import broadcastPoolBackwardSource from './broadcast-pool-backward.wgsl';
import conv2dBackwardSource from './conv2d-backward.wgsl';
import conv2dSource from './conv2d.wgsl';
import embedTokensSource from './embed-tokens.wgsl';
import gatherRowsSource from './gather-rows.wgsl';
import globalAvgPoolSource from './global-avg-pool.wgsl';
import layernormBackwardSource from './layernorm-backward.wgsl';
import layernormSource from './layernorm.wgsl';
import fusedAttentionSource from './fused-attention.wgsl';
import maskedSoftmaxSource from './masked-softmax.wgsl';
import matmulSource from './matmul.wgsl';
import maxPoolBackwardSource from './max-pool-backward.wgsl';
import maxPoolSource from './max-pool.wgsl';
import meanTokensSource from './mean-tokens.wgsl';
import nhwcToNchwSource from './nhwc-to-nchw.wgsl';
import patchCol2imSource from './patch-col2im.wgsl';
import patchIm2colSource from './patch-im2col.wgsl';
import pixelMaskSource from './pixel-mask.wgsl';
import scaleAddSource from './scale-add.wgsl';
import scatterRowsSource from './scatter-rows.wgsl';
import softmaxBackwardSource from './softmax-backward.wgsl';
import softmaxSource from './softmax.wgsl';

const halfVariants = new Map<KernelSpec, KernelSpec>();

/**
 * The kernel for tensors of `dtype`: itself for f32; for f16 the variant whose storage
 * element type (the `alias Float = f32;` line every such kernel declares) is f16, with
 * `enable f16;` (the device needs the shader-f16 feature). Arithmetic stays f32.
 */
export function typedKernel(spec: KernelSpec, dtype: 'f32' | 'f16' | 'u32'): KernelSpec {
  if (dtype !== 'f16') return spec;
  let half = halfVariants.get(spec);
  if (!half) {
    if (!spec.code.includes('alias Float = f32;')) throw new Error(`${spec.name} has no f16 variant (no "alias Float = f32;")`);
    half = { ...spec, name: `${spec.name}-f16`, code: `enable f16;\n${spec.code.replace('alias Float = f32;', 'alias Float = f16;')}` };
    halfVariants.set(spec, half);
  }
  return half;
}

export const matmulKernel: KernelSpec = {
  name: 'matmul',
  code: matmulSource,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'write', 'read'],
};

export const layerNormKernel: KernelSpec = {
  name: 'layernorm',
  code: layernormSource,
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
};

export const softmaxKernel: KernelSpec = {
  name: 'softmax',
  code: softmaxSource,
  bindings: ['uniform', 'read', 'write'],
};

export const maskedSoftmaxKernel: KernelSpec = {
  name: 'masked-softmax',
  code: maskedSoftmaxSource,
  bindings: ['uniform', 'read', 'write'],
};

/** Workgroup memory the fused attention's key and value tiles may use (WebGPU's guaranteed minimum is 16 KiB). */
const FUSED_ATTENTION_TILE_BYTES = 8192;

/**
 * The fused attention kernel for heads of `headDim` (a multiple of 4) features: its
 * private arrays and tiles are sized by it, so each head size is its own kernel.
 */
const fusedAttentionKernels = new Map<number, KernelSpec>();

export function fusedAttentionKernel(headDim: number): KernelSpec {
  const made = fusedAttentionKernels.get(headDim);
  if (made) return made;
  const keysPerTile = Math.max(1, Math.min(32, Math.floor(FUSED_ATTENTION_TILE_BYTES / (2 * 4 * headDim))));
  const spec: KernelSpec = {
    name: `fused-attention-dh${headDim}`,
    code: fusedAttentionSource
      .replace('__DH4__', String(headDim / 4))
      .replace('__KEYS_PER_TILE__', String(keysPerTile))
      .split('\n')
      .flatMap((line) => (line.includes('{d}') ? Array.from({ length: headDim / 4 }, (_, d) => line.replaceAll('{d}', String(d))) : [line]))
      .join('\n'),
    bindings: ['uniform', 'read', 'read', 'write'],
  };
  fusedAttentionKernels.set(headDim, spec);
  return spec;
}

export const gatherRowsKernel: KernelSpec = {
  name: 'gather-rows',
  code: gatherRowsSource,
  bindings: ['uniform', 'read', 'read', 'write'],
};

export const patchIm2colKernel: KernelSpec = {
  name: 'patch-im2col',
  code: patchIm2colSource,
  bindings: ['uniform', 'read', 'write'],
};

export const embedTokensKernel: KernelSpec = {
  name: 'embed-tokens',
  code: embedTokensSource,
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
};

export const meanTokensKernel: KernelSpec = {
  name: 'mean-tokens',
  code: meanTokensSource,
  bindings: ['uniform', 'read', 'read', 'write'],
};

export const scaleAddKernel: KernelSpec = {
  name: 'scale-add',
  code: scaleAddSource,
  bindings: ['uniform', 'read', 'read', 'write'],
};

export const conv2dKernel: KernelSpec = {
  name: 'conv2d',
  code: conv2dSource,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'],
};

export const maxPoolKernel: KernelSpec = {
  name: 'max-pool',
  code: maxPoolSource,
  bindings: ['uniform', 'read', 'write'],
};

export const globalAvgPoolKernel: KernelSpec = {
  name: 'global-avg-pool',
  code: globalAvgPoolSource,
  bindings: ['uniform', 'read', 'write'],
};

export const pixelMaskKernel: KernelSpec = {
  name: 'pixel-mask',
  code: pixelMaskSource,
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
};

export const layerNormBackwardKernel: KernelSpec = {
  name: 'layernorm-backward',
  code: layernormBackwardSource,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'],
};

export const softmaxBackwardKernel: KernelSpec = {
  name: 'softmax-backward',
  code: softmaxBackwardSource,
  bindings: ['uniform', 'read', 'write'],
};

export const activationKernel: KernelSpec = {
  name: 'activation',
  code: activationSource,
  bindings: ['uniform', 'read', 'read', 'write'],
};

export const scatterRowsKernel: KernelSpec = {
  name: 'scatter-rows',
  code: scatterRowsSource,
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
};

export const patchCol2imKernel: KernelSpec = {
  name: 'patch-col2im',
  code: patchCol2imSource,
  bindings: ['uniform', 'read', 'write'],
};

export const conv2dBackwardKernel: KernelSpec = {
  name: 'conv2d-backward',
  code: conv2dBackwardSource,
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
};

export const maxPoolBackwardKernel: KernelSpec = {
  name: 'max-pool-backward',
  code: maxPoolBackwardSource,
  bindings: ['uniform', 'read', 'read', 'write'],
};

export const broadcastPoolBackwardKernel: KernelSpec = {
  name: 'broadcast-pool-backward',
  code: broadcastPoolBackwardSource,
  bindings: ['uniform', 'read', 'read', 'write'],
};

export const nhwcToNchwKernel: KernelSpec = {
  name: 'nhwc-to-nchw',
  code: nhwcToNchwSource,
  bindings: ['uniform', 'read', 'write'],
};
