import { statSync } from 'node:fs';
import { acquireDevice, GpuEngine, prepareModel, type GpuDevice, type ImageClassifier, type PreparedModel } from '@moxi/kernels';
import { readModelFiles } from '@moxi/kernels/node';
import { usageError } from './cli-error.ts';
import { log } from './output.ts';
import { describePreprocessing, preprocessingFromSpec } from './preprocess-spec.ts';

export { PREPROCESS_HELP } from './preprocess-spec.ts';

export interface ModelOptions {
  model?: string;
  arch?: string;
  /** --preprocess: replaces the model's image preprocessing (see PREPROCESS_HELP). */
  preprocess?: string;
}

/**
 * Reads and validates the model named on the command line; no GPU involved yet. A bare
 * .safetensors file says nothing about preprocessing: it gets ImageNet's unless
 * --preprocess chooses, and a line on stderr says which.
 */
export function prepareModelFromOptions(options: ModelOptions): PreparedModel {
  if (!options.model) throw usageError('--model', 'is required: a model folder (config.json + model.safetensors) or a .safetensors file with --arch');
  const prepared = prepareModel(readModelFiles(options.model, options.arch));
  if (options.preprocess !== undefined) {
    const preprocessing = preprocessingFromSpec(options.preprocess, prepared.info);
    return { ...prepared, preprocessing, info: { ...prepared.info, preprocessing } };
  }
  if (prepared.preprocessing && statSync(options.model).isFile()) {
    log(`${options.model}: a bare .safetensors file has no preprocessing config; images get ImageNet's (${describePreprocessing(prepared.preprocessing)}); choose another with --preprocess (inception, none, mean=...,std=...,size=...)`);
  }
  return prepared;
}

export interface GpuSession {
  gpu: GpuDevice;
  engine: GpuEngine;
  model: ImageClassifier;
  close(): void;
}

/** Opens the device and uploads the model. */
export async function openGpuSession(prepared: PreparedModel, options: { profile?: boolean } = {}): Promise<GpuSession> {
  const gpu = await acquireDevice();
  const engine = new GpuEngine(gpu);
  if (options.profile) engine.enableProfiling();
  const model = prepared.instantiate(engine);
  return {
    gpu,
    engine,
    model,
    close: () => {
      model.destroy();
      engine.destroy();
      gpu.destroy();
    },
  };
}
