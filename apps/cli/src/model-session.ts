import { acquireDevice, GpuEngine, prepareModel, type GpuDevice, type ImageClassifier, type PreparedModel } from '@moxi/kernels';
import { readModelFiles } from '@moxi/kernels/node';
import { usageError } from './cli-error.ts';

export interface ModelOptions {
  model?: string;
  arch?: string;
}

/** Reads and validates the model named on the command line; no GPU involved yet. */
export function prepareModelFromOptions(options: ModelOptions): PreparedModel {
  if (!options.model) throw usageError('--model', 'is required: a model folder (config.json + model.safetensors) or a .safetensors file with --arch');
  return prepareModel(readModelFiles(options.model, options.arch));
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
