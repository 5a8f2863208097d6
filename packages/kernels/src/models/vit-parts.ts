import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import type { LayerNormWeights } from '../ops/layernorm.ts';
import type { LinearWeights } from '../ops/matmul.ts';
import type { VitConfig } from './vit-config.ts';

/** One transformer block's weights on the GPU. */
export interface VitGpuBlock {
  norm1: LayerNormWeights;
  qkv: LinearWeights;
  proj: LinearWeights;
  norm2: LayerNormWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
}

/**
 * What a ViT's passes read: its engine, config and weights on the GPU. VisionTransformer
 * holds them; the gradient pass (vit-gradient.ts) takes them, so it does not import the
 * class that calls it.
 */
export interface VitParts {
  readonly engine: GpuEngine;
  readonly config: VitConfig;
  readonly patchEmbed: LinearWeights;
  readonly prefix: GpuTensor | undefined;
  readonly pos: GpuTensor;
  readonly preNorm: LayerNormWeights | undefined;
  readonly blocks: readonly VitGpuBlock[];
  readonly norm: LayerNormWeights | undefined;
  readonly fcNorm: LayerNormWeights | undefined;
  readonly heads: readonly LinearWeights[];
}
