import { InputError } from '../io/input-error.ts';
import { isJsonObject, readPositiveInteger, readPositiveNumber, type JsonObject } from '../io/json-values.ts';
import { labelsFrom } from './labels.ts';
import { TIMM_RESNET_ARCHITECTURES } from './resnet-config.ts';

/**
 * The architecture of a Vision Transformer, whichever format it came from. The config
 * file decides the architecture (as timm's create_model and transformers' from_pretrained
 * do); the weights are then checked against it, so a wrong or partial checkpoint is
 * named weight by weight instead of silently producing garbage.
 */
export interface VitConfig {
  source: 'timm' | 'huggingface';
  /** Name to show users: the timm architecture or the HF class. */
  name: string;
  imgSize: [number, number];
  patchSize: number;
  inChans: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpHidden: number;
  numClasses: number;
  qkvBias: boolean;
  classToken: boolean;
  /** DeiT's distillation token, the second prefix token. */
  distillationToken: boolean;
  /** A second head on the distillation token; the two heads' logits are averaged. */
  distillationHead: boolean;
  regTokens: number;
  /** Prefix tokens carry no positional embedding (timm no_embed_class, DeiT III). */
  noEmbedClass: boolean;
  /** LayerNorm right after the positional embedding (timm pre_norm). */
  preNorm: boolean;
  globalPool: 'token' | 'avg';
  /** Final norm after pooling (fc_norm) instead of before it (norm). */
  fcNorm: boolean;
  layerScale: boolean;
  eps: number;
  labels?: string[];
}

export function prefixTokenCount(c: VitConfig): number {
  return (c.classToken ? 1 : 0) + (c.distillationToken ? 1 : 0) + c.regTokens;
}

export function gridShape(c: VitConfig): [number, number] {
  return [c.imgSize[0] / c.patchSize, c.imgSize[1] / c.patchSize];
}

export function patchCount(c: VitConfig): number {
  const [gh, gw] = gridShape(c);
  return gh * gw;
}

/** Width, depth, heads of timm's named sizes. */
const TIMM_SIZES: Record<string, { embedDim: number; depth: number; numHeads: number }> = {
  tiny: { embedDim: 192, depth: 12, numHeads: 3 },
  small: { embedDim: 384, depth: 12, numHeads: 6 },
  medium: { embedDim: 512, depth: 12, numHeads: 8 },
  base: { embedDim: 768, depth: 12, numHeads: 12 },
  large: { embedDim: 1024, depth: 24, numHeads: 16 },
  huge: { embedDim: 1280, depth: 32, numHeads: 16 },
};

const TIMM_VIT_NAME = /^(vit|deit|deit3)_(tiny|small|medium|base|large|huge)_(distilled_)?patch(\d+)_(\d+)(\..*)?$/;

/** model_args keys we implement; anything else changes the network and is refused. */
const SUPPORTED_MODEL_ARGS = new Set([
  'img_size', 'patch_size', 'in_chans', 'num_classes', 'global_pool', 'embed_dim', 'depth',
  'num_heads', 'mlp_ratio', 'qkv_bias', 'init_values', 'class_token', 'no_embed_class',
  'reg_tokens', 'pre_norm', 'fc_norm', 'final_norm', 'drop_rate', 'pos_drop_rate',
  'patch_drop_rate', 'proj_drop_rate', 'attn_drop_rate', 'drop_path_rate', 'weight_init',
  'dynamic_img_size', 'dynamic_img_pad',
]);

function size2(v: unknown, what: string, file: string): [number, number] {
  if (Array.isArray(v) && v.length === 2) return [readPositiveInteger(v[0], what, file), readPositiveInteger(v[1], what, file)];
  const n = readPositiveInteger(v, what, file);
  return [n, n];
}

function checkGeometry(c: VitConfig, file: string): VitConfig {
  const [h, w] = c.imgSize;
  if (h % c.patchSize !== 0 || w % c.patchSize !== 0) {
    throw new InputError(file, `image size ${h}x${w} is not a multiple of patch size ${c.patchSize}`);
  }
  if (c.embedDim % c.numHeads !== 0) {
    throw new InputError(file, `embed dim ${c.embedDim} is not divisible by ${c.numHeads} heads`);
  }
  if (!c.classToken && c.globalPool === 'token') {
    throw new InputError(file, "global_pool 'token' needs class_token: true");
  }
  return c;
}

/** timm hub folder config.json (the current form, or the old flat one). */
export function vitConfigFromTimm(config: JsonObject, file: string): VitConfig {
  const architecture = config.architecture;
  if (typeof architecture !== 'string') throw new InputError(file, 'has no "architecture" string (a timm config.json names one, e.g. "vit_tiny_patch16_224")');
  const match = TIMM_VIT_NAME.exec(architecture);
  if (!match) {
    throw new InputError(
      file,
      `architecture "${architecture}" is not supported; supported: vit_*, deit_* and deit3_* in tiny|small|medium|base|large|huge as <family>_<size>_patch<P>_<S> ` +
        `(e.g. vit_tiny_patch16_224, deit_small_distilled_patch16_224), and ${TIMM_RESNET_ARCHITECTURES.join(', ')}`,
    );
  }
  const [, family = 'vit', sizeName = 'base', distilled, patch = '16', img = '224'] = match;
  const size = TIMM_SIZES[sizeName] ?? TIMM_SIZES.base!;
  const pretrained = isJsonObject(config.pretrained_cfg) ? config.pretrained_cfg : config;
  const args = isJsonObject(config.model_args) ? config.model_args : {};
  for (const key of Object.keys(args)) {
    if (!SUPPORTED_MODEL_ARGS.has(key)) throw new InputError(file, `model_args.${key} is not supported by moxi's ViT`);
  }
  if (args.final_norm === false) throw new InputError(file, 'model_args.final_norm false is not supported');
  const deit3 = family === 'deit3';
  const globalPool = args.global_pool ?? config.global_pool ?? 'token';
  if (globalPool !== 'token' && globalPool !== 'avg') {
    throw new InputError(file, `global_pool "${String(globalPool)}" is not supported (token or avg)`);
  }
  const embedDim = args.embed_dim === undefined ? size.embedDim : readPositiveInteger(args.embed_dim, 'model_args.embed_dim', file);
  const mlpRatio = args.mlp_ratio === undefined ? 4 : readPositiveNumber(args.mlp_ratio, 'model_args.mlp_ratio', file);
  const initValues = args.init_values === undefined ? (deit3 ? 1e-6 : null) : args.init_values;
  const numClasses = args.num_classes ?? config.num_classes ?? pretrained.num_classes ?? 1000;
  return checkGeometry(
    {
      source: 'timm',
      name: architecture,
      imgSize: size2(args.img_size ?? Number(img), 'model_args.img_size', file),
      patchSize: readPositiveInteger(args.patch_size ?? Number(patch), 'model_args.patch_size', file),
      inChans: readPositiveInteger(args.in_chans ?? 3, 'model_args.in_chans', file),
      embedDim,
      depth: readPositiveInteger(args.depth ?? size.depth, 'model_args.depth', file),
      numHeads: readPositiveInteger(args.num_heads ?? size.numHeads, 'model_args.num_heads', file),
      mlpHidden: readPositiveInteger(Math.trunc(embedDim * mlpRatio), 'model_args.embed_dim x mlp_ratio', file),
      numClasses: readPositiveInteger(numClasses, 'num_classes', file),
      qkvBias: args.qkv_bias !== false,
      classToken: args.class_token !== false,
      distillationToken: distilled !== undefined,
      distillationHead: distilled !== undefined,
      regTokens: args.reg_tokens === undefined ? 0 : Number(args.reg_tokens),
      noEmbedClass: args.no_embed_class === undefined ? deit3 : args.no_embed_class === true,
      preNorm: args.pre_norm === true,
      globalPool,
      fcNorm: args.fc_norm === undefined || args.fc_norm === null ? globalPool === 'avg' : args.fc_norm === true,
      layerScale: initValues !== null && initValues !== undefined && initValues !== 0,
      eps: 1e-6,
      labels: labelsFrom(pretrained.label_names ?? config.label_names),
    },
    file,
  );
}

/** Hugging Face transformers config.json with model_type vit or deit. */
export function vitConfigFromHuggingFace(config: JsonObject, file: string): VitConfig {
  const modelType = config.model_type;
  const architectures = Array.isArray(config.architectures) ? config.architectures.map(String) : [];
  const name = architectures[0] ?? (modelType === 'deit' ? 'DeiTForImageClassification' : 'ViTForImageClassification');
  if (architectures.length > 0 && !/ForImageClassification/.test(name)) {
    throw new InputError(file, `architecture ${name} has no classification head (need *ForImageClassification)`);
  }
  const act = config.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new InputError(file, `hidden_act "${String(act)}" is not supported (gelu only)`);
  const labels = labelsFrom(config.id2label);
  const embedDim = readPositiveInteger(config.hidden_size ?? 768, 'hidden_size', file);
  const numClasses = config.num_labels ?? labels?.length ?? 2;
  const deit = modelType === 'deit';
  return checkGeometry(
    {
      source: 'huggingface',
      name,
      imgSize: size2(config.image_size ?? 224, 'image_size', file),
      patchSize: readPositiveInteger(config.patch_size ?? 16, 'patch_size', file),
      inChans: readPositiveInteger(config.num_channels ?? 3, 'num_channels', file),
      embedDim,
      depth: readPositiveInteger(config.num_hidden_layers ?? 12, 'num_hidden_layers', file),
      numHeads: readPositiveInteger(config.num_attention_heads ?? 12, 'num_attention_heads', file),
      mlpHidden: readPositiveInteger(config.intermediate_size ?? 4 * embedDim, 'intermediate_size', file),
      numClasses: readPositiveInteger(numClasses, 'num_labels / id2label', file),
      qkvBias: config.qkv_bias !== false,
      classToken: true,
      // DeiT embeddings always carry a distillation token; only the *WithTeacher head uses it.
      distillationToken: deit,
      distillationHead: deit && name.endsWith('WithTeacher'),
      regTokens: 0,
      noEmbedClass: false,
      preNorm: false,
      globalPool: 'token',
      fcNorm: false,
      layerScale: false,
      eps: typeof config.layer_norm_eps === 'number' ? config.layer_norm_eps : 1e-12,
      labels,
    },
    file,
  );
}
