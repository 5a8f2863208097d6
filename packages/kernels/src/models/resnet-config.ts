import { InputError } from '../io/input-error.ts';
import { isJsonObject, readPositiveInteger, type JsonObject } from '../io/json-values.ts';
import { labelsFrom } from './labels.ts';

/**
 * A ResNet (v1.5: the stride of a bottleneck sits on its 3x3 convolution, as in
 * torchvision, timm and transformers) described by its stages, whatever the checkpoint
 * format. The config decides the architecture; weights are checked against it.
 */
export interface ResNetConfig {
  source: 'timm' | 'huggingface';
  name: string;
  block: 'basic' | 'bottleneck';
  /** Blocks per stage. */
  depths: number[];
  /** Output channels of each stage (bottleneck: 4x its inner width). */
  widths: number[];
  stemWidth: number;
  inChans: number;
  numClasses: number;
  /** [H, W] of the input the checkpoint expects (from its preprocessing config). */
  imgSize: [number, number];
  /** BatchNorm epsilon (PyTorch default). */
  eps: number;
  labels?: string[];
}

const TIMM_RESNETS: Record<string, { block: ResNetConfig['block']; depths: number[] }> = {
  resnet18: { block: 'basic', depths: [2, 2, 2, 2] },
  resnet34: { block: 'basic', depths: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', depths: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', depths: [3, 4, 23, 3] },
  resnet152: { block: 'bottleneck', depths: [3, 8, 36, 3] },
};

/** resnet18, resnet34, ...: the timm ResNets moxi runs. */
export const TIMM_RESNET_ARCHITECTURES: readonly string[] = Object.keys(TIMM_RESNETS);

/** The timm architecture names this module implements (tags after a dot are allowed). */
export function isTimmResNet(architecture: string): boolean {
  return architecture.split('.')[0]! in TIMM_RESNETS;
}

const SUPPORTED_MODEL_ARGS = new Set(['num_classes', 'in_chans', 'drop_rate', 'drop_path_rate', 'global_pool']);

/** Input [C, H, W] from a timm pretrained_cfg (ResNets take any size; the checkpoint says which). */
function timmInputSize(pretrained: JsonObject, file: string): [number, number] {
  const size = pretrained.input_size;
  if (size === undefined) return [224, 224];
  if (!Array.isArray(size) || size.length !== 3) throw new InputError(file, `pretrained_cfg.input_size must be [C, H, W], got ${JSON.stringify(size)}`);
  return [readPositiveInteger(size[1], 'pretrained_cfg.input_size[1]', file), readPositiveInteger(size[2], 'pretrained_cfg.input_size[2]', file)];
}

/** timm hub config.json for resnet18/34/50/101/152 (timm and torchvision state-dict names). */
export function resnetConfigFromTimm(config: JsonObject, file: string): ResNetConfig {
  const architecture = String(config.architecture);
  const base = TIMM_RESNETS[architecture.split('.')[0]!];
  if (!base) throw new InputError(file, `architecture "${architecture}" is not a supported ResNet (${Object.keys(TIMM_RESNETS).join(', ')})`);
  const pretrained = isJsonObject(config.pretrained_cfg) ? config.pretrained_cfg : config;
  const args = isJsonObject(config.model_args) ? config.model_args : {};
  for (const key of Object.keys(args)) {
    if (!SUPPORTED_MODEL_ARGS.has(key)) throw new InputError(file, `model_args.${key} is not supported by moxi's ResNet`);
  }
  const pool = args.global_pool ?? config.global_pool ?? 'avg';
  if (pool !== 'avg') throw new InputError(file, `global_pool "${String(pool)}" is not supported (avg)`);
  const expansion = base.block === 'bottleneck' ? 4 : 1;
  const inSize = Array.isArray(pretrained.input_size) ? pretrained.input_size[0] : undefined;
  const resnet: ResNetConfig = {
    source: 'timm',
    name: architecture,
    block: base.block,
    depths: base.depths,
    widths: [64, 128, 256, 512].map((w) => w * expansion),
    stemWidth: 64,
    inChans: readPositiveInteger(args.in_chans ?? inSize ?? 3, 'model_args.in_chans', file),
    numClasses: readPositiveInteger(args.num_classes ?? config.num_classes ?? pretrained.num_classes ?? 1000, 'num_classes', file),
    imgSize: timmInputSize(pretrained, file),
    eps: 1e-5,
  };
  const labels = labelsFrom(pretrained.label_names ?? config.label_names);
  if (labels) resnet.labels = labels;
  return resnet;
}

/** transformers ResNetForImageClassification config.json (microsoft/resnet-*). */
export function resnetConfigFromHuggingFace(config: JsonObject, file: string, imgSize: [number, number]): ResNetConfig {
  const layerType = config.layer_type ?? 'bottleneck';
  if (layerType !== 'basic' && layerType !== 'bottleneck') throw new InputError(file, `layer_type "${String(layerType)}" is not supported (basic, bottleneck)`);
  if ((config.hidden_act ?? 'relu') !== 'relu') throw new InputError(file, `hidden_act "${String(config.hidden_act)}" is not supported (relu)`);
  if (config.downsample_in_first_stage === true) throw new InputError(file, 'downsample_in_first_stage true is not supported');
  if (config.downsample_in_bottleneck === true) throw new InputError(file, 'downsample_in_bottleneck true (stride on the 1x1 convolution, ResNet v1) is not supported');
  const depths = config.depths ?? [3, 4, 6, 3];
  const widths = config.hidden_sizes ?? [256, 512, 1024, 2048];
  if (!Array.isArray(depths) || !Array.isArray(widths) || depths.length !== widths.length || depths.length === 0) {
    throw new InputError(file, 'depths and hidden_sizes must be lists of equal length');
  }
  const labels = labelsFrom(config.id2label);
  const resnet: ResNetConfig = {
    source: 'huggingface',
    name: Array.isArray(config.architectures) ? String(config.architectures[0]) : 'ResNetForImageClassification',
    block: layerType,
    depths: depths.map((d, i) => readPositiveInteger(d, `depths[${i}]`, file)),
    widths: widths.map((w, i) => readPositiveInteger(w, `hidden_sizes[${i}]`, file)),
    stemWidth: readPositiveInteger(config.embedding_size ?? 64, 'embedding_size', file),
    inChans: readPositiveInteger(config.num_channels ?? 3, 'num_channels', file),
    numClasses: readPositiveInteger(config.num_labels ?? labels?.length ?? 1000, 'num_labels / id2label', file),
    imgSize,
    eps: 1e-5,
  };
  if (labels) resnet.labels = labels;
  return resnet;
}
