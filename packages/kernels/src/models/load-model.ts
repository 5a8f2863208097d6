import type { GpuEngine } from '../gpu/engine.ts';
import { InputError, OptionError } from '../io/input-error.ts';
import type { ModelFiles } from '../io/model-source.ts';
import { preprocessingFromHuggingFace, preprocessingFromTimm, type Preprocessing } from '../io/preprocess.ts';
import { parseSafetensors, tensorToFloat32, type SafetensorsEntry } from '../io/safetensors.ts';
import { DEFAULT_PRECISION, type ImageClassifier, type Precision } from './classifier.ts';
import { defaultPixelGrid } from './pixel-rows.ts';
import { checkModelFitsDevice } from './device-limits.ts';
import { ResNet, resnetActivation } from './resnet.ts';
import { isTimmResNet, resnetConfigFromHuggingFace, resnetConfigFromTimm, type ResNetConfig } from './resnet-config.ts';
import { HF_RESNET_NAMES, resnetParameterCount, resnetWeights, TIMM_RESNET_NAMES } from './resnet-weights.ts';
import { VisionTransformer, vitActivation, vitWidestProduct } from './vit.ts';
import { gridShape, vitConfigFromHuggingFace, vitConfigFromTimm, type VitConfig } from './vit-config.ts';
import { vitParameterCount, vitWeightsFromHuggingFace, vitWeightsFromTimm } from './vit-weights.ts';
import type { TensorSource } from './weight-reader.ts';

export type { ModelFiles } from '../io/model-source.ts';

export interface ModelInfo {
  location: string;
  format: 'timm' | 'huggingface';
  architecture: string;
  family: 'vit' | 'resnet';
  parameters: number;
  weightDtypes: string[];
  weightBytes: number;
  inputShape: [number, number, number];
  /** The default player grid: the token grid of a ViT, the pixel grid of a CNN. */
  grid: [number, number];
  /**
   * G x G players the model's folder declares (`"moxi": { "grid": G }` in config.json):
   * what explanations use unless --grid says otherwise (the SET-SUM models: their 2 x 2 cells).
   */
  declaredGrid?: number;
  numClasses: number;
  labels?: string[];
  preprocessing?: Preprocessing;
  details: Record<string, unknown>;
}

export function parseJsonFile(file: { name: string; text: string }): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(file.text);
  } catch (error) {
    throw new InputError(file.name, `is not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(file.name, 'must hold a JSON object');
  }
  return value as Record<string, unknown>;
}

/** All tensors of all shards, validated, converted to float32 when read. */
export function safetensorsSource(weights: ModelFiles['weights']): TensorSource & { dtypes: string[] } {
  const entries = new Map<string, SafetensorsEntry>();
  for (const shard of weights) {
    for (const [name, entry] of parseSafetensors(shard.bytes, shard.name)) {
      if (entries.has(name)) throw new InputError(shard.name, `tensor ${name} appears in two shards`);
      entries.set(name, entry);
    }
  }
  return {
    file: weights.map((w) => w.name).join(', '),
    shapes: new Map([...entries].map(([k, v]) => [k, v.shape])),
    read: (name) => tensorToFloat32(entries.get(name)!),
    dtypes: [...new Set([...entries.values()].map((e) => e.dtype))].sort(),
  };
}

type Architecture = { family: 'vit'; config: VitConfig } | { family: 'resnet'; config: ResNetConfig };

interface Described {
  format: ModelInfo['format'];
  architecture: Architecture;
  preprocessing?: Preprocessing;
}

/**
 * Which network a config.json describes, and how its images are preprocessed. Image files
 * are RGB, so a model of another channel count takes prepared .npy tensors only.
 */
function describeModel(json: Record<string, unknown>, files: ModelFiles): Described {
  const file = files.config.name;
  if (typeof json.model_type === 'string') {
    const rgb = (json.num_channels ?? 3) === 3;
    const pre = files.preprocessor && rgb ? preprocessingFromHuggingFace(parseJsonFile(files.preprocessor), files.preprocessor.name) : undefined;
    let architecture: Architecture;
    if (json.model_type === 'vit' || json.model_type === 'deit') architecture = { family: 'vit', config: vitConfigFromHuggingFace(json, file) };
    else if (json.model_type === 'resnet') architecture = { family: 'resnet', config: resnetConfigFromHuggingFace(json, file, pre?.inputSize ?? [224, 224]) };
    else throw new InputError(file, `model_type "${json.model_type}" is not supported (vit, deit, resnet)`);
    return pre ? { format: 'huggingface', architecture, preprocessing: pre } : { format: 'huggingface', architecture };
  }
  if (typeof json.architecture === 'string') {
    const architecture: Architecture = isTimmResNet(json.architecture)
      ? { family: 'resnet', config: resnetConfigFromTimm(json, file) }
      : { family: 'vit', config: vitConfigFromTimm(json, file) };
    if (architecture.config.inChans !== 3) return { format: 'timm', architecture };
    return { format: 'timm', architecture, preprocessing: preprocessingFromTimm(json, file) };
  }
  throw new InputError(file, 'is neither a timm config (no "architecture") nor a Hugging Face config (no "model_type")');
}

export interface InstantiateOptions {
  /** f16 needs the device's shader-f16 feature; ViTs only. */
  precision?: Precision;
}

/** f16 runs ViTs only: a ResNet's convolution kernels have no f16 variant. Checked before any device is opened. */
export function refuseUnsupportedPrecision(info: Pick<ModelInfo, 'family' | 'architecture'>, precision: Precision): void {
  if (precision === 'f16' && info.family !== 'vit') {
    throw new OptionError('precision', `f16 runs ViTs; ${info.architecture} runs in f32 (its convolution kernels have no f16 variant yet)`);
  }
}

/** f16 is refused on a device without shader-f16, naming the adapter. */
function checkPrecision(engine: GpuEngine, precision: Precision): Precision {
  if (precision === 'f16' && !engine.gpu.features.shaderF16) {
    const a = engine.gpu.adapter;
    throw new OptionError('precision', `f16 needs the shader-f16 feature, which ${a.description || a.device || a.vendor} does not offer; use f32`);
  }
  return precision;
}

/** A model read and validated on the host, ready to be uploaded to a device. */
export interface PreparedModel {
  info: ModelInfo;
  /** How to turn an image file into the model's input; absent when the folder does not say. */
  preprocessing?: Preprocessing;
  labels?: string[];
  /** Uploads the weights; the model then runs on that engine. */
  instantiate(engine: GpuEngine, options?: InstantiateOptions): ImageClassifier;
}

/** config.json's `moxi` section: `{ "grid": G }`, G x G players (checked against the model when a game is made). */
function readDeclaredGrid(json: Record<string, unknown>, file: string): number | undefined {
  const section = json.moxi;
  if (section === undefined) return undefined;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) throw new InputError(file, '"moxi" must be an object such as { "grid": 2 }');
  const grid = (section as Record<string, unknown>).grid;
  if (grid === undefined) return undefined;
  if (typeof grid !== 'number' || !Number.isInteger(grid) || grid < 1) throw new InputError(file, `"moxi.grid" must be a positive integer (G x G players), not ${JSON.stringify(grid)}`);
  return grid;
}

/**
 * Parses and checks everything a model folder holds (config, weights, preprocessing)
 * without touching the GPU, so bad input is reported before any device is opened.
 */
export function prepareModel(files: ModelFiles): PreparedModel {
  const json = parseJsonFile(files.config);
  const { format, architecture, preprocessing } = describeModel(json, files);
  const { config } = architecture;
  if (preprocessing && (preprocessing.inputSize[0] !== config.imgSize[0] || preprocessing.inputSize[1] !== config.imgSize[1])) {
    const name = files.preprocessor?.name ?? files.config.name;
    throw new InputError(name, `preprocessing gives ${preprocessing.inputSize.join('x')} images but the model takes ${config.imgSize.join('x')}`);
  }
  const source = safetensorsSource(files.weights);
  let instantiate: (engine: GpuEngine, options?: InstantiateOptions) => ImageClassifier;
  let parameters: number;
  let grid: [number, number];
  let details: Record<string, unknown>;
  if (architecture.family === 'vit') {
    const c = architecture.config;
    const weights = format === 'timm' ? vitWeightsFromTimm(c, source) : vitWeightsFromHuggingFace(c, source);
    instantiate = (engine, options) => {
      const precision = checkPrecision(engine, options?.precision ?? DEFAULT_PRECISION);
      checkModelFitsDevice(files.location, engine.gpu.limits, {
        weights,
        precision,
        f16Possible: engine.gpu.features.shaderF16,
        activation: vitActivation(c),
        widestProduct: vitWidestProduct(c),
      });
      return new VisionTransformer(engine, c, weights, precision);
    };
    parameters = vitParameterCount(weights, c.layerScale);
    grid = gridShape(c);
    details = {
      embedDim: c.embedDim,
      depth: c.depth,
      numHeads: c.numHeads,
      mlpHidden: c.mlpHidden,
      patchSize: c.patchSize,
      prefixTokens: { classToken: c.classToken, distillationToken: c.distillationToken, registers: c.regTokens },
      globalPool: c.globalPool,
      layerNormEps: c.eps,
    };
  } else {
    const c = architecture.config;
    const weights = resnetWeights(c, source, format === 'timm' ? TIMM_RESNET_NAMES : HF_RESNET_NAMES);
    instantiate = (engine, options) => {
      refuseUnsupportedPrecision({ family: 'resnet', architecture: config.name }, options?.precision ?? DEFAULT_PRECISION);
      checkModelFitsDevice(files.location, engine.gpu.limits, {
        weights,
        precision: 'f32',
        f16Possible: false,
        activation: resnetActivation(c, weights.stem, weights.blocks),
        widestProduct: { columns: c.numClasses, what: 'the classifier head' },
      });
      return new ResNet(engine, c, weights);
    };
    parameters = resnetParameterCount(weights);
    grid = defaultPixelGrid(c.imgSize[0], c.imgSize[1]);
    details = { block: c.block, depths: c.depths, widths: c.widths, stemWidth: c.stemWidth, batchNormEps: c.eps };
  }

  const info: ModelInfo = {
    location: files.location,
    format,
    architecture: config.name,
    family: architecture.family,
    parameters,
    weightDtypes: source.dtypes,
    weightBytes: files.weights.reduce((a, w) => a + w.bytes.byteLength, 0),
    inputShape: [config.inChans, config.imgSize[0], config.imgSize[1]],
    grid,
    numClasses: config.numClasses,
    details,
  };
  if (config.labels) info.labels = config.labels;
  if (preprocessing) info.preprocessing = preprocessing;
  const declaredGrid = readDeclaredGrid(json, files.config.name);
  if (declaredGrid !== undefined) info.declaredGrid = declaredGrid;
  const prepared: PreparedModel = { info, instantiate };
  if (preprocessing) prepared.preprocessing = preprocessing;
  if (config.labels) prepared.labels = config.labels;
  return prepared;
}
