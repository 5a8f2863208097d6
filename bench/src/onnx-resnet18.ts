import {
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  OnnxGraphBuilder,
  requireWeight,
  type OnnxExportOptions,
  type WeightMap,
} from './onnx-graph-builder.ts';

export interface ResNetStage {
  /** timm/torchvision prefix, e.g. `layer2`. */
  name: string;
  channels: number;
  /** Stride of the stage's first block; a block whose shape changes gets a 1x1 downsample. */
  stride: number;
  blocks: number;
}

export interface ResNet18Config {
  imageSize: number;
  inChannels: number;
  stemChannels: number;
  stages: ResNetStage[];
  numClasses: number;
  batchNormEps: number;
}

/** torchvision / timm `resnet18`: BasicBlocks [2, 2, 2, 2]. */
export const RESNET18: ResNet18Config = {
  imageSize: 224,
  inChannels: 3,
  stemChannels: 64,
  stages: [
    { name: 'layer1', channels: 64, stride: 1, blocks: 2 },
    { name: 'layer2', channels: 128, stride: 2, blocks: 2 },
    { name: 'layer3', channels: 256, stride: 2, blocks: 2 },
    { name: 'layer4', channels: 512, stride: 2, blocks: 2 },
  ],
  numClasses: 1000,
  batchNormEps: 1e-5,
};

/** One conv + its eval-mode BatchNorm, named the way timm names them. */
export interface ConvBnSpec {
  conv: string;
  bn: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

export interface BasicBlockSpec {
  prefix: string;
  conv1: ConvBnSpec;
  conv2: ConvBnSpec;
  downsample: ConvBnSpec | undefined;
}

/** Every block of the network in order; the random-weight generator walks the same list. */
export function resnetBasicBlocks(cfg: ResNet18Config): BasicBlockSpec[] {
  const blocks: BasicBlockSpec[] = [];
  let inChannels = cfg.stemChannels;
  for (const stage of cfg.stages) {
    for (let b = 0; b < stage.blocks; b++) {
      const prefix = `${stage.name}.${b}`;
      const stride = b === 0 ? stage.stride : 1;
      const c = stage.channels;
      blocks.push({
        prefix,
        conv1: { conv: `${prefix}.conv1`, bn: `${prefix}.bn1`, inChannels, outChannels: c, kernel: 3, stride, padding: 1 },
        conv2: { conv: `${prefix}.conv2`, bn: `${prefix}.bn2`, inChannels: c, outChannels: c, kernel: 3, stride: 1, padding: 1 },
        downsample:
          stride !== 1 || inChannels !== c
            ? {
                conv: `${prefix}.downsample.0`,
                bn: `${prefix}.downsample.1`,
                inChannels,
                outChannels: c,
                kernel: 1,
                stride,
                padding: 0,
              }
            : undefined,
      });
      inChannels = c;
    }
  }
  return blocks;
}

export function resnetStemSpec(cfg: ResNet18Config): ConvBnSpec {
  return { conv: 'conv1', bn: 'bn1', inChannels: cfg.inChannels, outChannels: cfg.stemChannels, kernel: 7, stride: 2, padding: 3 };
}

/**
 * Folds eval-mode BatchNorm into the preceding bias-free conv, as the PyTorch exporter
 * does: w' = w * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps).
 */
function foldBatchNorm(weights: WeightMap, spec: ConvBnSpec, eps: number): { weight: Float32Array; bias: Float32Array } {
  const { outChannels: O, inChannels: I, kernel: K } = spec;
  const w = requireWeight(weights, `${spec.conv}.weight`, [O, I, K, K]).data;
  const gamma = requireWeight(weights, `${spec.bn}.weight`, [O]).data;
  const beta = requireWeight(weights, `${spec.bn}.bias`, [O]).data;
  const mean = requireWeight(weights, `${spec.bn}.running_mean`, [O]).data;
  const variance = requireWeight(weights, `${spec.bn}.running_var`, [O]).data;
  const perOut = I * K * K;
  const weight = new Float32Array(w.length);
  const bias = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    const scale = (gamma[o] as number) / Math.sqrt((variance[o] as number) + eps);
    for (let j = o * perOut; j < (o + 1) * perOut; j++) weight[j] = (w[j] as number) * scale;
    bias[o] = (beta[o] as number) - (mean[o] as number) * scale;
  }
  return { weight, bias };
}

/**
 * Builds the opset-17 graph `torch.onnx.export` writes for ResNet-18 in eval mode: each
 * Conv+BatchNorm folded into one Conv with bias, Relu, MaxPool 3x3/2 pad 1, BasicBlocks
 * with 1x1 downsample shortcuts, GlobalAveragePool, Flatten, Gemm.
 * Input `input` [B, 3, H, W] NCHW float32, output `logits` [B, numClasses].
 */
export function buildResNet18Onnx(weights: WeightMap, cfg: ResNet18Config = RESNET18, options: OnnxExportOptions = {}): Uint8Array {
  const batch = options.batch ?? 'batch';
  const g = new OnnxGraphBuilder('resnet18');

  const convBn = (x: string, spec: ConvBnSpec, out: string) => {
    const folded = foldBatchNorm(weights, spec, cfg.batchNormEps);
    const { outChannels: O, inChannels: I, kernel: K, stride: s, padding: p } = spec;
    const w = g.floatInitializer(`${spec.conv}.weight`, [O, I, K, K], folded.weight);
    const b = g.floatInitializer(`${spec.conv}.bias`, [O], folded.bias);
    return g.node('Conv', [x, w, b], out, {
      kernel_shape: [K, K],
      strides: [s, s],
      pads: [p, p, p, p],
      dilations: [1, 1],
      group: 1,
    });
  };

  const input = g.input(ONNX_INPUT_NAME, [batch, cfg.inChannels, cfg.imageSize, cfg.imageSize]);
  const stem = g.node('Relu', [convBn(input, resnetStemSpec(cfg), 'stem_conv')], 'stem_relu');
  let x = g.node('MaxPool', [stem], 'stem_pool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });

  for (const block of resnetBasicBlocks(cfg)) {
    const p = block.prefix;
    const h = g.node('Relu', [convBn(x, block.conv1, `${p}_conv1`)], `${p}_relu1`);
    const y = convBn(h, block.conv2, `${p}_conv2`);
    const shortcut = block.downsample ? convBn(x, block.downsample, `${p}_downsample`) : x;
    x = g.node('Relu', [g.node('Add', [y, shortcut], `${p}_add`)], `${p}_out`);
  }

  const lastChannels = cfg.stages[cfg.stages.length - 1]?.channels ?? cfg.stemChannels;
  const pooled = g.node('GlobalAveragePool', [x], 'global_pool');
  const flat = g.node('Flatten', [pooled], 'flatten', { axis: 1 });
  g.node(
    'Gemm',
    [
      flat,
      g.floatInitializer('fc.weight', [cfg.numClasses, lastChannels], requireWeight(weights, 'fc.weight', [cfg.numClasses, lastChannels]).data),
      g.floatInitializer('fc.bias', [cfg.numClasses], requireWeight(weights, 'fc.bias', [cfg.numClasses]).data),
    ],
    'fc',
    { transB: 1 },
  );
  g.nameLastOutput(ONNX_OUTPUT_NAME);
  g.output(ONNX_OUTPUT_NAME, [batch, cfg.numClasses]);
  return g.encode();
}
