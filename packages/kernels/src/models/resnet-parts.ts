import type { GpuEngine } from '../gpu/engine.ts';
import type { ConvWeights } from '../ops/conv2d.ts';
import type { LinearWeights } from '../ops/matmul.ts';
import type { ResNetConfig } from './resnet-config.ts';

/** A convolution on the GPU, with the unpadded channel counts for FLOP counting. */
export type ModelConv = ConvWeights & { realInChannels: number; realOutChannels: number };

export interface ResNetGpuBlock {
  convs: ModelConv[];
  shortcut?: ModelConv;
}

/**
 * What a ResNet's passes read: its engine, config and weights on the GPU. ResNet holds
 * them; the gradient pass (resnet-gradient.ts) takes them, so it does not import the class
 * that calls it.
 */
export interface ResNetParts {
  readonly engine: GpuEngine;
  readonly config: ResNetConfig;
  readonly stem: ModelConv;
  readonly blocks: readonly ResNetGpuBlock[];
  readonly fc: LinearWeights;
}
