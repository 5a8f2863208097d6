import { SeededRandom } from '@moxi/attrib';
import type { WeightMap } from './onnx-graph-builder.ts';
import { resnetBasicBlocks, resnetStemSpec, RESNET18, type ConvBnSpec, type ResNet18Config } from './onnx-resnet18.ts';
import { VIT_TINY_PATCH16_224, vitTokenCount, type VitConfig } from './onnx-vit.ts';

/** mulberry32 (the generator @moxi/attrib uses for sampling), drawn in bulk. */
class BulkRandom extends SeededRandom {
  /** Uniform in [lo, hi). */
  uniform(count: number, lo: number, hi: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Uniform with variance 1 / fanIn (bound sqrt(3 / fanIn)). Checked against PyTorch: the
 * ViT residual stream keeps std ~1 and ResNet-18 stage outputs std 1.0-1.2 (He's gain 2
 * instead let them double per stage, to logits of ~130, since the folded BatchNorms do
 * not renormalize random activations).
 */
function scaledUniform(rng: BulkRandom, shape: number[], fanIn: number) {
  const bound = Math.sqrt(3 / fanIn);
  return { shape, data: rng.uniform(count(shape), -bound, bound) };
}

function nearConstant(rng: BulkRandom, shape: number[], center: number, spread: number) {
  return { shape, data: rng.uniform(count(shape), center - spread, center + spread) };
}

/** Random ViT weights under timm parameter names (see `buildVitOnnx`). */
export function vitRandomWeights(cfg: VitConfig = VIT_TINY_PATCH16_224, seed = 1): WeightMap {
  const rng = new BulkRandom(seed);
  const { embedDim: D, mlpDim: M, patchSize: P, inChannels: C } = cfg;
  const w: WeightMap = new Map();
  const linear = (prefix: string, inDim: number, outDim: number) => {
    w.set(`${prefix}.weight`, scaledUniform(rng, [outDim, inDim], inDim));
    w.set(`${prefix}.bias`, nearConstant(rng, [outDim], 0, 0.02));
  };
  const layerNorm = (prefix: string) => {
    w.set(`${prefix}.weight`, nearConstant(rng, [D], 1, 0.1));
    w.set(`${prefix}.bias`, nearConstant(rng, [D], 0, 0.02));
  };

  w.set('cls_token', nearConstant(rng, [1, 1, D], 0, 0.04));
  w.set('pos_embed', nearConstant(rng, [1, vitTokenCount(cfg), D], 0, 0.04));
  w.set('patch_embed.proj.weight', scaledUniform(rng, [D, C, P, P], C * P * P));
  w.set('patch_embed.proj.bias', nearConstant(rng, [D], 0, 0.02));
  for (let i = 0; i < cfg.depth; i++) {
    const p = `blocks.${i}`;
    layerNorm(`${p}.norm1`);
    linear(`${p}.attn.qkv`, D, 3 * D);
    linear(`${p}.attn.proj`, D, D);
    layerNorm(`${p}.norm2`);
    linear(`${p}.mlp.fc1`, D, M);
    linear(`${p}.mlp.fc2`, M, D);
  }
  layerNorm('norm');
  linear('head', D, cfg.numClasses);
  return w;
}

/** Random ResNet-18 weights under timm names, with positive BatchNorm running variances. */
export function resnet18RandomWeights(cfg: ResNet18Config = RESNET18, seed = 1): WeightMap {
  const rng = new BulkRandom(seed);
  const w: WeightMap = new Map();
  const convBn = (spec: ConvBnSpec) => {
    const { outChannels: O, inChannels: I, kernel: K } = spec;
    w.set(`${spec.conv}.weight`, scaledUniform(rng, [O, I, K, K], I * K * K));
    w.set(`${spec.bn}.weight`, nearConstant(rng, [O], 1, 0.1));
    w.set(`${spec.bn}.bias`, nearConstant(rng, [O], 0, 0.05));
    w.set(`${spec.bn}.running_mean`, nearConstant(rng, [O], 0, 0.05));
    w.set(`${spec.bn}.running_var`, nearConstant(rng, [O], 1, 0.5));
  };

  convBn(resnetStemSpec(cfg));
  for (const block of resnetBasicBlocks(cfg)) {
    convBn(block.conv1);
    convBn(block.conv2);
    if (block.downsample) convBn(block.downsample);
  }
  const lastChannels = cfg.stages[cfg.stages.length - 1]?.channels ?? cfg.stemChannels;
  w.set('fc.weight', scaledUniform(rng, [cfg.numClasses, lastChannels], lastChannels));
  w.set('fc.bias', nearConstant(rng, [cfg.numClasses], 0, 0.02));
  return w;
}

/** A reproducible NCHW image batch in [-1, 1), roughly the range of normalized pixels. */
export function randomImageBatch(shape: readonly [number, number, number, number], seed = 7): Float32Array {
  return new BulkRandom(seed).uniform(count([...shape]), -1, 1);
}
