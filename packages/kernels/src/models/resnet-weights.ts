import type { ResNetConfig } from './resnet-config.ts';
import type { HostLinear } from './vit-weights.ts';
import { transposeMatrix, WeightReader, type TensorSource } from './weight-reader.ts';

/**
 * A convolution with its BatchNorm folded in, in kernel layout: weight [KH * KW * IC, OC]
 * with k ordered (ky, kx, ic) to match NHWC activations. Output channels are padded to a
 * multiple of 4 with zero filters (the kernel stores 4 channels at a time), and input
 * channels follow the previous layer's padding; the real counts are kept for statistics.
 */
export interface HostConv {
  weight: Float32Array;
  bias: Float32Array;
  inChannels: number;
  outChannels: number;
  realInChannels: number;
  realOutChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

const roundUp4 = (n: number) => Math.ceil(n / 4) * 4;

export interface ResNetBlockWeights {
  /** The residual branch; the last convolution takes the shortcut and the final ReLU. */
  convs: HostConv[];
  /** 1x1 projection of the input when shape changes, else identity. */
  shortcut?: HostConv;
}

export interface ResNetWeights {
  stem: HostConv;
  blocks: ResNetBlockWeights[];
  fc: HostLinear;
}

/** Where a block's convolutions live in the checkpoint: [conv, norm] names per layer. */
export interface ConvNames {
  conv: string;
  norm: string;
}

export interface ResNetNaming {
  stem: ConvNames;
  branch(stage: number, block: number, layer: number): ConvNames;
  shortcut(stage: number, block: number): ConvNames;
  /** Where stage s numbers its blocks: `${blocks(s)}0.` .. */
  blocks(stage: number): string;
  fc: string;
  ignorable: RegExp;
}

export const TIMM_RESNET_NAMES: ResNetNaming = {
  stem: { conv: 'conv1', norm: 'bn1' },
  branch: (s, b, l) => ({ conv: `layer${s + 1}.${b}.conv${l + 1}`, norm: `layer${s + 1}.${b}.bn${l + 1}` }),
  shortcut: (s, b) => ({ conv: `layer${s + 1}.${b}.downsample.0`, norm: `layer${s + 1}.${b}.downsample.1` }),
  blocks: (s) => `layer${s + 1}.`,
  fc: 'fc',
  ignorable: /\.num_batches_tracked$/,
};

export const HF_RESNET_NAMES: ResNetNaming = {
  stem: { conv: 'resnet.embedder.embedder.convolution', norm: 'resnet.embedder.embedder.normalization' },
  branch: (s, b, l) => {
    const base = `resnet.encoder.stages.${s}.layers.${b}.layer.${l}`;
    return { conv: `${base}.convolution`, norm: `${base}.normalization` };
  },
  shortcut: (s, b) => {
    const base = `resnet.encoder.stages.${s}.layers.${b}.shortcut`;
    return { conv: `${base}.convolution`, norm: `${base}.normalization` };
  },
  blocks: (s) => `resnet.encoder.stages.${s}.layers.`,
  fc: 'classifier.1',
  ignorable: /\.num_batches_tracked$/,
};

interface ConvShape {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
}

/**
 * conv (no bias) + BatchNorm (eval) -> one convolution: W * g / sqrt(v + eps), b - m * g / sqrt(v + eps).
 * `storedIn` is the channel count of the input as stored (padded by the previous layer).
 */
function foldedConv(r: WeightReader, names: ConvNames, s: ConvShape, eps: number, storedIn: number): HostConv {
  const { inChannels: IC, outChannels: OC, kernel: K } = s;
  const w = r.take(`${names.conv}.weight`, [OC, IC, K, K]);
  const gamma = r.take(`${names.norm}.weight`, [OC]);
  const beta = r.take(`${names.norm}.bias`, [OC]);
  const mean = r.take(`${names.norm}.running_mean`, [OC]);
  const variance = r.take(`${names.norm}.running_var`, [OC]);
  const outStored = roundUp4(OC);
  const weight = new Float32Array(K * K * storedIn * outStored);
  const bias = new Float32Array(outStored);
  for (let oc = 0; oc < OC; oc++) {
    const scale = gamma[oc]! / Math.sqrt(variance[oc]! + eps);
    bias[oc] = beta[oc]! - mean[oc]! * scale;
    for (let ic = 0; ic < IC; ic++)
      for (let ky = 0; ky < K; ky++)
        for (let kx = 0; kx < K; kx++) weight[((ky * K + kx) * storedIn + ic) * outStored + oc] = w[((oc * IC + ic) * K + ky) * K + kx]! * scale;
  }
  return { weight, bias, inChannels: storedIn, outChannels: outStored, realInChannels: IC, realOutChannels: OC, kernel: K, stride: s.stride, padding: K >> 1 };
}

/** The residual branch's convolution shapes of one block (v1.5 bottleneck: stride on the 3x3). */
function branchShapes(c: ResNetConfig, inC: number, outC: number, stride: number): ConvShape[] {
  if (c.block === 'basic') {
    return [
      { inChannels: inC, outChannels: outC, kernel: 3, stride },
      { inChannels: outC, outChannels: outC, kernel: 3, stride: 1 },
    ];
  }
  const mid = outC / 4;
  return [
    { inChannels: inC, outChannels: mid, kernel: 1, stride: 1 },
    { inChannels: mid, outChannels: mid, kernel: 3, stride },
    { inChannels: mid, outChannels: outC, kernel: 1, stride: 1 },
  ];
}

export function resnetWeights(c: ResNetConfig, source: TensorSource, names: ResNetNaming): ResNetWeights {
  const r = new WeightReader(source, names.ignorable);
  const hint = `config says ${c.name}: ${c.block} blocks ${c.depths.join('-')}, widths ${c.widths.join('-')}, ${c.numClasses} classes`;
  c.depths.forEach((depth, s) => r.expectNumbered(names.blocks(s), depth, `blocks in stage ${s + 1}`, hint));
  const stem = foldedConv(r, names.stem, { inChannels: c.inChans, outChannels: c.stemWidth, kernel: 7, stride: 2 }, c.eps, c.inChans);
  const blocks: ResNetBlockWeights[] = [];
  let channels = c.stemWidth;
  c.depths.forEach((depth, s) => {
    const width = c.widths[s]!;
    for (let b = 0; b < depth; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      const convs: HostConv[] = [];
      for (const [l, shape] of branchShapes(c, channels, width, stride).entries()) {
        convs.push(foldedConv(r, names.branch(s, b, l), shape, c.eps, roundUp4(shape.inChannels)));
      }
      const block: ResNetBlockWeights = { convs };
      if (stride !== 1 || channels !== width) {
        block.shortcut = foldedConv(r, names.shortcut(s, b), { inChannels: channels, outChannels: width, kernel: 1, stride }, c.eps, roundUp4(channels));
      }
      blocks.push(block);
      channels = width;
    }
  });
  // The head reads the pooled (padded) features; padded rows of its weight stay zero.
  const features = channels;
  const fcWeight = transposeMatrix(r.take(`${names.fc}.weight`, [c.numClasses, features]), c.numClasses, features);
  const weight = new Float32Array(roundUp4(features) * c.numClasses);
  weight.set(fcWeight);
  const fc: HostLinear = {
    weight,
    bias: r.take(`${names.fc}.bias`, [c.numClasses]),
    inFeatures: roundUp4(features),
    outFeatures: c.numClasses,
  };
  r.finish(hint);
  return { stem, blocks, fc };
}

/** Parameters as PyTorch counts them: convolutions, BatchNorm weight and bias, fc. */
export function resnetParameterCount(w: ResNetWeights): number {
  const conv = (k: HostConv) => k.kernel * k.kernel * k.realInChannels * k.realOutChannels + 2 * k.realOutChannels;
  let total = conv(w.stem);
  for (const b of w.blocks) total += b.convs.reduce((a, k) => a + conv(k), 0) + (b.shortcut ? conv(b.shortcut) : 0);
  const features = w.blocks[w.blocks.length - 1]?.convs.at(-1)?.realOutChannels ?? w.stem.realOutChannels;
  return total + features * w.fc.outFeatures + w.fc.outFeatures;
}
