import type { HostTensor, ImageClassifier } from '@moxi/kernels';
import { numberDefault, optionDefault, type StopRule } from '../explain-options.ts';
import type { Attribution, CoalitionMethodName, ModelMethodName } from '../attribution.ts';
import type { CoalitionGame } from '../game.ts';
import { gradCam } from './gradcam.ts';
import { interactionFull, interactionSelf } from './interactions.ts';
import { moxi } from './moxi.ts';
import { attentionRollout, type HeadFusion } from './rollout.ts';
import { kernelShap, kernelShapEvaluations } from './kernel-shap.ts';
import { lime, LIME_DEFAULT_SAMPLES } from './lime.ts';
import { DEFAULT_MAX_EVALUATIONS, EXACT_BATCH, shapleyExact, shapleyFull, shapleySelf } from './shapley.ts';
import { shapleyPermutationSampling, shapleySharedSizeSampling, type ShapleySampler } from './shapley-sampling.ts';

export interface MethodOptions {
  stop?: StopRule;
  minConfidence?: number;
  samples?: number;
  sampler?: ShapleySampler;
  seed?: number;
  maxEvaluations?: number;
  onStep?: (step: number, total: number) => void;
}

/** Samples of shapley-sampling when none are given (the option table's default). */
/** The sampler in use: the one given, else the table's default. */
export function samplerOf(options: MethodOptions): ShapleySampler {
  return options.sampler ?? (optionDefault('sampler') as ShapleySampler);
}

/** The stop rule in use: the one given, else the table's default. */
export function stopOf(options: MethodOptions): StopRule {
  return options.stop ?? (optionDefault('stop') as StopRule);
}

export const DEFAULT_SAMPLES = numberDefault('samples');

/** The seed in use: the one given, else the table's default. */
export function seedOf(options: MethodOptions): number {
  return options.seed ?? numberDefault('seed');
}

/** Runs one black-box method on a game; `grid` is the game's player grid. */
export async function runMethod(method: CoalitionMethodName, game: CoalitionGame, grid: [number, number], options: MethodOptions = {}): Promise<Attribution> {
  const base = { method, target: game.target, grid };
  const before = game.evaluations;
  const done = (fields: Omit<Attribution, 'method' | 'target' | 'grid' | 'evaluations'>): Attribution => ({
    ...base,
    ...fields,
    evaluations: game.evaluations - before,
  });
  switch (method) {
    case 'moxi-insertion':
    case 'moxi-deletion': {
      const r = await moxi(game, {
        direction: method === 'moxi-insertion' ? 'insertion' : 'deletion',
        stop: stopOf(options),
        ...(options.minConfidence !== undefined ? { minConfidence: options.minConfidence } : {}),
        ...(options.onStep ? { onStep: options.onStep } : {}),
      });
      return done({ scores: r.scores, order: r.order, rewards: r.rewards, stopStep: r.stopStep, stopHeld: r.stopHeld });
    }
    case 'shapley-self':
      return done({ scores: await shapleySelf(game) });
    case 'shapley-full':
      return done({ scores: await shapleyFull(game) });
    case 'shapley-exact':
      return done({ scores: await shapleyExact(game, options.maxEvaluations ?? DEFAULT_MAX_EVALUATIONS) });
    case 'shapley-sampling': {
      const samples = options.samples ?? DEFAULT_SAMPLES;
      const seed = seedOf(options);
      const scores =
        samplerOf(options) === 'shared-size' ? await shapleySharedSizeSampling(game, samples, seed) : await shapleyPermutationSampling(game, samples, seed);
      return done({ scores });
    }
    case 'kernel-shap': {
      const fit = await kernelShap(game, {
        ...(options.samples !== undefined ? { samples: options.samples } : {}),
        seed: seedOf(options),
        maxEvaluations: options.maxEvaluations ?? DEFAULT_MAX_EVALUATIONS,
      });
      return done({ scores: fit.phi });
    }
    case 'lime': {
      const fit = await lime(game, { samples: options.samples ?? LIME_DEFAULT_SAMPLES, seed: seedOf(options) });
      return done({ scores: fit.scores });
    }
    case 'interaction-self':
    case 'interaction-full': {
      const r = method === 'interaction-self' ? await interactionSelf(game) : await interactionFull(game);
      return done({ scores: r.scores, interactions: r.interactions });
    }
  }
}

/** Coalitions a method will evaluate on N players (MoXI: with --stop full). */
export function plannedEvaluations(method: CoalitionMethodName, N: number, options: MethodOptions = {}): number {
  const samples = options.samples ?? DEFAULT_SAMPLES;
  switch (method) {
    case 'moxi-insertion':
    case 'moxi-deletion':
      return (N * (N + 1)) / 2;
    case 'shapley-self':
    case 'shapley-full':
      return N + 1;
    case 'shapley-exact':
      return 2 ** N;
    case 'shapley-sampling':
      return samplerOf(options) === 'shared-size' ? 2 * N * samples : samples * (N - 1) + 2;
    case 'kernel-shap':
      // Its own default: every coalition (options.samples is only what was given).
      return kernelShapEvaluations(N, options.samples);
    case 'lime':
      return options.samples ?? LIME_DEFAULT_SAMPLES;
    case 'interaction-self':
    case 'interaction-full':
      return (N * (N - 1)) / 2 + N + 1;
  }
}

export interface ModelMethodOptions {
  /** gradcam: output grid (the CAM is resized bilinearly when its own grid differs). */
  grid?: [number, number];
  augSmooth?: boolean;
  eigenSmooth?: boolean;
  fusion?: HeadFusion;
  discardRatio?: number;
}

/** Runs Grad-CAM or attention rollout on one image [1, C, H, W] for class `target`. */
export async function runModelMethod(method: ModelMethodName, model: ImageClassifier, image: HostTensor, target: number, options: ModelMethodOptions = {}): Promise<Attribution> {
  if (method === 'gradcam') {
    const r = await gradCam(model, image, target, {
      ...(options.grid ? { grid: options.grid } : {}),
      augSmooth: options.augSmooth === true,
      eigenSmooth: options.eigenSmooth === true,
    });
    return { method, target, grid: r.grid, scores: r.scores, evaluations: r.passes };
  }
  const r = await attentionRollout(model, image, {
    ...(options.fusion ? { fusion: options.fusion } : {}),
    ...(options.discardRatio !== undefined ? { discardRatio: options.discardRatio } : {}),
  });
  return { method, target, grid: r.grid, scores: r.scores, evaluations: 1 };
}

/**
 * One evaluate() call a method will make: `rows` coalitions, the largest of `largest`
 * players. On a ViT with token masking a forward pass costs by its longest row (ragged
 * rows are padded), so insertion's early steps are cheap and deletion's expensive.
 */
export interface PlannedCall {
  rows: number;
  largest: number;
}

/**
 * The evaluate() calls of a method on N players, in order, as the method makes them (MoXI:
 * with --stop full, an upper bound for --stop correct). shapley-sampling with the shared
 * size sampler draws its sizes at random: the plan spreads them evenly over 0..N-2, which
 * is their expectation. shapley-exact's chunks hold coalitions of every size (largest N).
 */
export function plannedCalls(method: CoalitionMethodName, N: number, options: MethodOptions = {}): PlannedCall[] {
  const samples = options.samples ?? DEFAULT_SAMPLES;
  const range = (n: number, f: (k: number) => PlannedCall) => Array.from({ length: n }, (_, k) => f(k));
  switch (method) {
    case 'moxi-insertion':
      return range(N, (k) => ({ rows: N - k, largest: k + 1 }));
    case 'moxi-deletion':
      return range(N, (k) => ({ rows: N - k, largest: N - k - 1 }));
    case 'shapley-self':
      return [{ rows: N + 1, largest: Math.min(1, N) }];
    case 'shapley-full':
      return [{ rows: N + 1, largest: N }];
    case 'interaction-self':
      return [{ rows: (N * (N - 1)) / 2 + N + 1, largest: Math.min(2, N) }];
    case 'interaction-full':
      return [{ rows: (N * (N - 1)) / 2 + N + 1, largest: N }];
    case 'shapley-exact':
      return chunkedCalls(2 ** N, N);
    case 'shapley-sampling':
      if (samplerOf(options) === 'shared-size') return range(samples, (t) => ({ rows: 2 * N, largest: Math.floor(((N - 1) * (t + 0.5)) / samples) + 1 }));
      return [{ rows: 2, largest: N }, ...range(N - 1, (k) => ({ rows: samples, largest: k + 1 }))];
    case 'kernel-shap': {
      // The empty and full coalition, then the fitted ones in chunks (any size up to N - 1).
      return [{ rows: 2, largest: N }, ...chunkedCalls(kernelShapEvaluations(N, options.samples) - 2, N - 1)];
    }
    case 'lime':
      return chunkedCalls(options.samples ?? LIME_DEFAULT_SAMPLES, N);
  }
}

/** `rows` coalitions sent EXACT_BATCH per call, none larger than `largest`. */
function chunkedCalls(rows: number, largest: number): PlannedCall[] {
  return Array.from({ length: Math.ceil(rows / EXACT_BATCH) }, (_, k) => ({ rows: Math.min(EXACT_BATCH, rows - k * EXACT_BATCH), largest }));
}

/** Total work of planned calls, given what one row of a given largest size costs (e.g. FLOPs). */
export function plannedWork(calls: readonly PlannedCall[], rowCost: (largest: number) => number): number {
  return calls.reduce((sum, c) => sum + c.rows * rowCost(c.largest), 0);
}
