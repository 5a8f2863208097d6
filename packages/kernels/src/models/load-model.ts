import type { GpuEngine } from '../gpu/engine.ts';
import { InputError } from '../io/input-error.ts';
import { preprocessingFromHuggingFace, preprocessingFromTimm, type Preprocessing } from '../io/preprocess.ts';
import { parseSafetensors, tensorToFloat32, type SafetensorsEntry } from '../io/safetensors.ts';
import type { ImageClassifier } from './classifier.ts';
import { VisionTransformer } from './vit.ts';
import { gridShape, vitConfigFromHuggingFace, vitConfigFromTimm, type VitConfig } from './vit-config.ts';
import { vitParameterCount, vitWeightsFromHuggingFace, vitWeightsFromTimm, type VitWeights } from './vit-weights.ts';
import type { TensorSource } from './weight-reader.ts';

/** The files of a model, already read: what a Node folder reader or a browser fetch yields. */
export interface ModelFiles {
  /** Shown to users: the folder or file they named. */
  location: string;
  config: { name: string; text: string };
  /** One safetensors file, or the shards of a sharded checkpoint. */
  weights: Array<{ name: string; bytes: Uint8Array }>;
  preprocessor?: { name: string; text: string };
}

export interface ModelInfo {
  location: string;
  format: 'timm' | 'huggingface';
  architecture: string;
  family: 'vit';
  parameters: number;
  weightDtypes: string[];
  weightBytes: number;
  inputShape: [number, number, number];
  grid: [number, number];
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

type Format = { format: 'timm'; config: VitConfig } | { format: 'huggingface'; config: VitConfig };

function detectFormat(json: Record<string, unknown>, file: string): Format {
  if (typeof json.model_type === 'string') {
    if (json.model_type === 'vit' || json.model_type === 'deit') {
      return { format: 'huggingface', config: vitConfigFromHuggingFace(json, file) };
    }
    throw new InputError(file, `model_type "${json.model_type}" is not supported (vit, deit)`);
  }
  if (typeof json.architecture === 'string') return { format: 'timm', config: vitConfigFromTimm(json, file) };
  throw new InputError(file, 'is neither a timm config (no "architecture") nor a Hugging Face config (no "model_type")');
}

/** A model read and validated on the host, ready to be uploaded to a device. */
export interface PreparedModel {
  info: ModelInfo;
  /** How to turn an image file into the model's input; absent when the folder does not say. */
  preprocessing?: Preprocessing;
  labels?: string[];
  /** Uploads the weights; the model then runs on that engine. */
  instantiate(engine: GpuEngine): ImageClassifier;
}

/**
 * Parses and checks everything a model folder holds (config, weights, preprocessing)
 * without touching the GPU, so bad input is reported before any device is opened.
 */
export function prepareModel(files: ModelFiles): PreparedModel {
  const json = parseJsonFile(files.config);
  const { format, config } = detectFormat(json, files.config.name);
  const source = safetensorsSource(files.weights);
  const weights: VitWeights = format === 'timm' ? vitWeightsFromTimm(config, source) : vitWeightsFromHuggingFace(config, source);

  // Image files are RGB; a model of another channel count takes prepared .npy tensors only.
  let preprocessing: Preprocessing | undefined;
  if (config.inChans !== 3) preprocessing = undefined;
  else if (format === 'timm') preprocessing = preprocessingFromTimm(json, files.config.name);
  else if (files.preprocessor) preprocessing = preprocessingFromHuggingFace(parseJsonFile(files.preprocessor), files.preprocessor.name);
  if (preprocessing && (preprocessing.inputSize[0] !== config.imgSize[0] || preprocessing.inputSize[1] !== config.imgSize[1])) {
    const name = files.preprocessor?.name ?? files.config.name;
    throw new InputError(name, `preprocessing gives ${preprocessing.inputSize.join('x')} images but the model takes ${config.imgSize.join('x')}`);
  }

  const info: ModelInfo = {
    location: files.location,
    format,
    architecture: config.name,
    family: 'vit',
    parameters: vitParameterCount(weights, config.layerScale),
    weightDtypes: source.dtypes,
    weightBytes: files.weights.reduce((a, w) => a + w.bytes.byteLength, 0),
    inputShape: [config.inChans, config.imgSize[0], config.imgSize[1]],
    grid: gridShape(config),
    numClasses: config.numClasses,
    details: {
      embedDim: config.embedDim,
      depth: config.depth,
      numHeads: config.numHeads,
      mlpHidden: config.mlpHidden,
      patchSize: config.patchSize,
      prefixTokens: { classToken: config.classToken, distillationToken: config.distillationToken, registers: config.regTokens },
      globalPool: config.globalPool,
      layerNormEps: config.eps,
    },
  };
  if (config.labels) info.labels = config.labels;
  if (preprocessing) info.preprocessing = preprocessing;
  const prepared: PreparedModel = { info, instantiate: (engine) => new VisionTransformer(engine, config, weights) };
  if (preprocessing) prepared.preprocessing = preprocessing;
  if (config.labels) prepared.labels = config.labels;
  return prepared;
}
