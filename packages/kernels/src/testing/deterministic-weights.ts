/**
 * Deterministic, hash-based model weights, bit-identical to
 * tools/fixtures/deterministic_weights.py, so golden files of large models need not commit
 * their weights: tests rebuild them from (name, shape, seed).
 *
 * Element i (flat, row-major) of tensor `name`:
 *   h = lowbias32((i * 0x9E3779B1 + fnv1a32(utf8(name)) + seed) mod 2^32)
 *   value = Math.fround(offset + scale * (2 * h / 2^32 - 1))
 * The float64 expression is evaluated with the same IEEE operations in the same order as
 * numpy does, and both round to float32 to nearest-even, so the bits agree.
 */
import type { HostTensor } from '../host-tensor.ts';

export function fnv1a32(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  }
  return h;
}

export function lowbias32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Uniform values in [offset - scale, offset + scale] for a tensor named `name`. */
export function deterministicTensor(
  name: string,
  shape: readonly number[],
  seed: number,
  scale: number,
  offset = 0,
): HostTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  const base = (fnv1a32(name) + seed) >>> 0;
  for (let i = 0; i < count; i++) {
    const u = lowbias32(Math.imul(i, 0x9e3779b1) + base) / 4294967296;
    data[i] = offset + scale * (2 * u - 1);
  }
  return { shape: [...shape], data };
}

/** timm VisionTransformer options (camelCase of timm's kwargs); defaults as in timm. */
export interface DeterministicVitConfig {
  imgSize: number;
  patchSize: number;
  inChans: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
  numClasses: number;
  qkvBias: boolean;
  classToken?: boolean;
  /** DeiT VisionTransformerDistilled: dist_token and head_dist. */
  distilled?: boolean;
  globalPool?: 'token' | 'avg';
  /** timm default: on when globalPool is 'avg'. */
  fcNorm?: boolean;
  /** LayerScale (ls1/ls2.gamma) when set and non-zero. */
  initValues?: number;
  noEmbedClass?: boolean;
}

/**
 * Scale and offset per parameter kind. Linear/conv weights have variance 1 / fan_in, so
 * activations stay O(1); the other kinds are O(0.1..1) around their trained-model centre.
 */
type ParamKind = 'weight' | 'bias' | 'norm-weight' | 'embed' | 'gamma' | 'variance';

function paramInit(kind: ParamKind, shape: readonly number[]): { scale: number; offset: number } {
  switch (kind) {
    case 'weight':
      return { scale: Math.sqrt(3 / shape.slice(1).reduce((a, b) => a * b, 1)), offset: 0 };
    case 'bias':
      return { scale: 0.1, offset: 0 };
    case 'norm-weight':
      return { scale: 0.2, offset: 1 };
    case 'embed':
      return { scale: 0.5, offset: 0 };
    case 'gamma':
      return { scale: 0.1, offset: 1 };
    case 'variance':
      return { scale: 0.5, offset: 1 };
  }
}

function usesFcNorm(config: DeterministicVitConfig): boolean {
  return config.fcNorm ?? config.globalPool === 'avg';
}

function vitParamSpecs(config: DeterministicVitConfig): [string, number[], ParamKind][] {
  const d = config.embedDim;
  const hidden = Math.floor(d * config.mlpRatio);
  const classToken = config.classToken ?? true;
  const numPatches = (config.imgSize / config.patchSize) ** 2;
  const numPrefix = (classToken ? 1 : 0) + (config.distilled ? 1 : 0);
  const layerScale = Boolean(config.initValues);
  const specs: [string, number[], ParamKind][] = [];
  if (classToken) specs.push(['cls_token', [1, 1, d], 'embed']);
  if (config.distilled) specs.push(['dist_token', [1, 1, d], 'embed']);
  specs.push(['pos_embed', [1, config.noEmbedClass ? numPatches : numPatches + numPrefix, d], 'embed']);
  specs.push(['patch_embed.proj.weight', [d, config.inChans, config.patchSize, config.patchSize], 'weight']);
  specs.push(['patch_embed.proj.bias', [d], 'bias']);
  for (let i = 0; i < config.depth; i++) {
    const p = `blocks.${i}.`;
    specs.push([`${p}norm1.weight`, [d], 'norm-weight'], [`${p}norm1.bias`, [d], 'bias']);
    specs.push([`${p}attn.qkv.weight`, [3 * d, d], 'weight']);
    if (config.qkvBias) specs.push([`${p}attn.qkv.bias`, [3 * d], 'bias']);
    specs.push([`${p}attn.proj.weight`, [d, d], 'weight'], [`${p}attn.proj.bias`, [d], 'bias']);
    if (layerScale) specs.push([`${p}ls1.gamma`, [d], 'gamma']);
    specs.push([`${p}norm2.weight`, [d], 'norm-weight'], [`${p}norm2.bias`, [d], 'bias']);
    specs.push([`${p}mlp.fc1.weight`, [hidden, d], 'weight'], [`${p}mlp.fc1.bias`, [hidden], 'bias']);
    specs.push([`${p}mlp.fc2.weight`, [d, hidden], 'weight'], [`${p}mlp.fc2.bias`, [d], 'bias']);
    if (layerScale) specs.push([`${p}ls2.gamma`, [d], 'gamma']);
  }
  // timm moves the final norm after the pool (fc_norm) for average pooling.
  const norm = usesFcNorm(config) ? 'fc_norm' : 'norm';
  specs.push([`${norm}.weight`, [d], 'norm-weight'], [`${norm}.bias`, [d], 'bias']);
  specs.push(['head.weight', [config.numClasses, d], 'weight'], ['head.bias', [config.numClasses], 'bias']);
  if (config.distilled) {
    specs.push(['head_dist.weight', [config.numClasses, d], 'weight']);
    specs.push(['head_dist.bias', [config.numClasses], 'bias']);
  }
  return specs;
}

/** All parameters of a timm ViT / DeiT with timm's state_dict names. */
export function deterministicVitWeights(config: DeterministicVitConfig, seed: number): Map<string, HostTensor> {
  const weights = new Map<string, HostTensor>();
  for (const [name, shape, kind] of vitParamSpecs(config)) {
    const { scale, offset } = paramInit(kind, shape);
    weights.set(name, deterministicTensor(name, shape, seed, scale, offset));
  }
  return weights;
}

/** torchvision / timm ResNet (v1.5) options; widths are the standard 64..512 x expansion. */
export interface DeterministicResNetConfig {
  block: 'basic' | 'bottleneck';
  depths: number[];
  numClasses: number;
  inChans?: number;
}

function resnetParamSpecs(config: DeterministicResNetConfig): [string, number[], ParamKind][] {
  const specs: [string, number[], ParamKind][] = [];
  const convBn = (conv: string, bn: string, out: number, inC: number, k: number) => {
    specs.push([`${conv}.weight`, [out, inC, k, k], 'weight']);
    specs.push([`${bn}.weight`, [out], 'norm-weight'], [`${bn}.bias`, [out], 'bias']);
    specs.push([`${bn}.running_mean`, [out], 'bias'], [`${bn}.running_var`, [out], 'variance']);
  };
  const expansion = config.block === 'bottleneck' ? 4 : 1;
  convBn('conv1', 'bn1', 64, config.inChans ?? 3, 7);
  let channels = 64;
  config.depths.forEach((depth, s) => {
    const width = [64, 128, 256, 512][s]! * expansion;
    for (let b = 0; b < depth; b++) {
      const p = `layer${s + 1}.${b}.`;
      const stride = b === 0 && s > 0 ? 2 : 1;
      if (config.block === 'basic') {
        convBn(`${p}conv1`, `${p}bn1`, width, channels, 3);
        convBn(`${p}conv2`, `${p}bn2`, width, width, 3);
      } else {
        const mid = width / 4;
        convBn(`${p}conv1`, `${p}bn1`, mid, channels, 1);
        convBn(`${p}conv2`, `${p}bn2`, mid, mid, 3);
        convBn(`${p}conv3`, `${p}bn3`, width, mid, 1);
      }
      if (stride !== 1 || channels !== width) convBn(`${p}downsample.0`, `${p}downsample.1`, width, channels, 1);
      channels = width;
    }
  });
  specs.push(['fc.weight', [config.numClasses, channels], 'weight'], ['fc.bias', [config.numClasses], 'bias']);
  return specs;
}

/**
 * All parameters and BatchNorm statistics of a ResNet with torchvision / timm names, as
 * tools/fixtures/deterministic_weights.py makes them (num_batches_tracked left out).
 */
export function deterministicResnetWeights(config: DeterministicResNetConfig, seed: number): Map<string, HostTensor> {
  const weights = new Map<string, HostTensor>();
  for (const [name, shape, kind] of resnetParamSpecs(config)) {
    const { scale, offset } = paramInit(kind, shape);
    weights.set(name, deterministicTensor(name, shape, seed, scale, offset));
  }
  return weights;
}

export interface VitTimmConfigOptions {
  /** Defaults to deit_tiny_distilled_patch16_224 or vit_tiny_patch16_224; model_args override its sizes. */
  architecture?: string;
}

const IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225];

/**
 * A timm hub `config.json` object (as timm's push_to_hf_hub writes it, with model_args) for
 * the model deterministicVitWeights builds. Equal to timm_hub_config in
 * tools/fixtures/vit_reference.py. timm picks the DeiT distilled class by architecture name.
 */
export function vitTimmConfigJson(config: DeterministicVitConfig, options: VitTimmConfigOptions = {}) {
  const distilled = config.distilled ?? false;
  const globalPool = config.globalPool ?? 'token';
  const modelArgs: Record<string, number | boolean | string> = {
    img_size: config.imgSize,
    patch_size: config.patchSize,
    in_chans: config.inChans,
    embed_dim: config.embedDim,
    depth: config.depth,
    num_heads: config.numHeads,
    mlp_ratio: config.mlpRatio,
    num_classes: config.numClasses,
    qkv_bias: config.qkvBias,
  };
  if (config.classToken === false) modelArgs.class_token = false;
  if (globalPool !== 'token') modelArgs.global_pool = globalPool;
  if (config.fcNorm !== undefined) modelArgs.fc_norm = config.fcNorm;
  if (config.initValues !== undefined) modelArgs.init_values = config.initValues;
  if (config.noEmbedClass) modelArgs.no_embed_class = true;
  let mean = distilled ? IMAGENET_DEFAULT_MEAN : [0.5, 0.5, 0.5];
  let std = distilled ? IMAGENET_DEFAULT_STD : [0.5, 0.5, 0.5];
  if (config.inChans !== 3) {
    mean = new Array<number>(config.inChans).fill(0.5);
    std = new Array<number>(config.inChans).fill(0.5);
  }
  return {
    architecture: options.architecture ?? (distilled ? 'deit_tiny_distilled_patch16_224' : 'vit_tiny_patch16_224'),
    num_classes: config.numClasses,
    num_features: config.embedDim,
    global_pool: globalPool,
    model_args: modelArgs,
    pretrained_cfg: {
      tag: 'moxi_deterministic',
      custom_load: false,
      input_size: [config.inChans, config.imgSize, config.imgSize],
      fixed_input_size: true,
      interpolation: 'bicubic',
      crop_pct: distilled ? 0.875 : 0.9,
      crop_mode: 'center',
      mean,
      std,
      num_classes: config.numClasses,
      pool_size: null,
      first_conv: 'patch_embed.proj',
      classifier: distilled ? ['head', 'head_dist'] : 'head',
    },
  };
}
