/// <reference path="./wgsl.d.ts" />
// Every WGSL kernel. The .wgsl files are the source of truth, bindings and uniform struct
// included (defineKernel reads them); bundlers inline them as strings (see wgsl-loader.ts).
import { defineKernel, type KernelSpec } from '../gpu/kernel-spec.ts';
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

export const matmulKernel = defineKernel('matmul', matmulSource);

export const layerNormKernel = defineKernel('layernorm', layernormSource);

export const softmaxKernel = defineKernel('softmax', softmaxSource);

export const maskedSoftmaxKernel = defineKernel('masked-softmax', maskedSoftmaxSource);

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
  const spec = defineKernel(
    `fused-attention-dh${headDim}`,
    fusedAttentionSource
      .replace('__DH4__', String(headDim / 4))
      .replace('__KEYS_PER_TILE__', String(keysPerTile))
      .split('\n')
      .flatMap((line) => (line.includes('{d}') ? Array.from({ length: headDim / 4 }, (_, d) => line.replaceAll('{d}', String(d))) : [line]))
      .join('\n'),
  );
  fusedAttentionKernels.set(headDim, spec);
  return spec;
}

export const gatherRowsKernel = defineKernel('gather-rows', gatherRowsSource);

export const patchIm2colKernel = defineKernel('patch-im2col', patchIm2colSource);

export const embedTokensKernel = defineKernel('embed-tokens', embedTokensSource);

export const meanTokensKernel = defineKernel('mean-tokens', meanTokensSource);

export const scaleAddKernel = defineKernel('scale-add', scaleAddSource);

export const conv2dKernel = defineKernel('conv2d', conv2dSource);

export const maxPoolKernel = defineKernel('max-pool', maxPoolSource);

export const globalAvgPoolKernel = defineKernel('global-avg-pool', globalAvgPoolSource);

export const pixelMaskKernel = defineKernel('pixel-mask', pixelMaskSource);

export const layerNormBackwardKernel = defineKernel('layernorm-backward', layernormBackwardSource);

export const softmaxBackwardKernel = defineKernel('softmax-backward', softmaxBackwardSource);

export const activationKernel = defineKernel('activation', activationSource);

export const scatterRowsKernel = defineKernel('scatter-rows', scatterRowsSource);

export const patchCol2imKernel = defineKernel('patch-col2im', patchCol2imSource);

export const conv2dBackwardKernel = defineKernel('conv2d-backward', conv2dBackwardSource);

export const maxPoolBackwardKernel = defineKernel('max-pool-backward', maxPoolBackwardSource);

export const broadcastPoolBackwardKernel = defineKernel('broadcast-pool-backward', broadcastPoolBackwardSource);

export const nhwcToNchwKernel = defineKernel('nhwc-to-nchw', nhwcToNchwSource);
