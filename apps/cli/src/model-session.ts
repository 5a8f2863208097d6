import { statSync } from 'node:fs';
import { acquireDevice, DEFAULT_PRECISION, GpuEngine, PRECISIONS, prepareModel, refuseUnsupportedPrecision, type GpuDevice, type ImageClassifier, type Precision, type PreparedModel } from '@moxi/kernels';
import { readModelFiles } from '@moxi/kernels/node';
import { usageError } from './cli-error.ts';
import { parseChoice } from './option-parsers.ts';
import { log } from './output.ts';
import { describePreprocessing, preprocessingFromSpec } from './preprocess-spec.ts';

export { PREPROCESS_HELP } from './preprocess-spec.ts';

export interface ModelOptions {
  model?: string;
  /** --precision: f32 (default) or f16. */
  precision?: string;
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

export const PRECISION_HELP = `${PRECISIONS.join(' | ')}: how weights and activations are stored (f16: ViTs on adapters with shader-f16; sums stay f32)`;

/** --precision, refused up front where f16 cannot run: ResNets, and the methods that need gradients. */
export function parsePrecision(value: string, prepared: PreparedModel, needsGradients?: string): Precision {
  const precision = parseChoice('--precision', value, PRECISIONS);
  refuseUnsupportedPrecision(prepared.info, precision);
  if (precision === 'f16' && needsGradients) throw usageError('--precision', `${needsGradients} need${needsGradients.includes(' and ') ? '' : 's'} gradients, which run in f32; leave --precision f16 out`);
  return precision;
}

export interface GpuSession {
  gpu: GpuDevice;
  engine: GpuEngine;
  model: ImageClassifier;
  close(): void;
}

/** Opens the device and uploads the model. */
export async function openGpuSession(prepared: PreparedModel, options: { profile?: boolean; precision?: Precision } = {}): Promise<GpuSession> {
  const gpu = await acquireDevice();
  const engine = new GpuEngine(gpu);
  if (options.profile) engine.enableProfiling();
  // MOXI_FUSED_ATTENTION=1 / 0 overrides the adapter's default (fused on hardware GPUs), so
  // both attention paths can be timed and compared on one machine (scripts/gpu-check.sh).
  const fused = process.env.MOXI_FUSED_ATTENTION;
  if (fused === '0' || fused === '1') engine.fusedAttention = fused === '1';
  // Test hook: lose the device this long after opening it, as a driver reset would.
  const loseAfter = Number(process.env.MOXI_TEST_LOSE_DEVICE_AFTER_MS);
  if (loseAfter > 0) setTimeout(() => gpu.device.destroy(), loseAfter).unref();
  let model: ImageClassifier;
  try {
    model = prepared.instantiate(engine, { precision: options.precision ?? DEFAULT_PRECISION });
  } catch (error) {
    engine.destroy();
    gpu.destroy();
    throw error;
  }
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
