import type { HostTensor, ImageClassifier } from '@moxi/kernels';
import { numberDefault, optionDefault, type StopRule } from '../explain-options.ts';
import type { Attribution, CoalitionMethodName, ModelMethodName } from '../attribution.ts';
import { allPlayers, type CoalitionGame } from '../game.ts';
import { gradCam } from './gradcam.ts';
import { interactionFull, interactionSelf } from './interactions.ts';
import { moxi } from './moxi.ts';
import { attentionRollout, type HeadFusion } from './rollout.ts';
import { cheferRelevance } from './chefer.ts';
import {
  inputTimesGradient,
  integratedGradients,
  plannedGradientPasses,
  smoothGrad,
  SMOOTHGRAD_DEFAULTS,
  type IgBaseline,
  type IntegratedGradientsOptions,
  type IntegrationRule,
  type SmoothGradOptions,
} from './integrated-gradients.ts';
import { kernelShap, kernelShapEvaluations } from './kernel-shap.ts';
import { lime, LIME_DEFAULT_SAMPLES } from './lime.ts';
import { RISE_DEFAULT_CELLS, RISE_DEFAULT_MASKS, RISE_DEFAULT_PROBABILITY, risePixels, risePlayers, type RiseOptions } from './rise.ts';
import {
  higherOrderInteractions,
  higherOrderPlannedCalls,
  MAX_EXACT_INTERACTION_PLAYERS,
  sampledHigherOrderInteractions,
  type InteractionIndex,
  type SampledHigherOrderOptions,
} from './higher-order-interactions.ts';
import { chunkedCalls, DEFAULT_MAX_EVALUATIONS, shapleyExact, shapleyFull, shapleySelf } from './shapley.ts';
import { shapleyPermutationSampling, shapleySharedSizeSampling, type ShapleySampler } from './shapley-sampling.ts';

export interface MethodOptions {
  stop?: StopRule;
  minConfidence?: number;
  samples?: number;
  sampler?: ShapleySampler;
  seed?: number;
  maxEvaluations?: number;
  /** shapley-interaction, shapley-taylor: the largest group scored. */
  order?: number;
  /** integrated-gradients: the path integral's points, rule and baseline. */
  steps?: number;
  integration?: IntegrationRule;
  baseline?: IgBaseline;
  blurSigma?: number;
  /** smoothgrad: the noise's standard deviation over the image's value range. */
  noiseLevel?: number;
  /** rise, rise-players: cells per side of a mask's grid, and a cell's keep probability. */
  riseCells?: number;
  riseProbability?: number;
  onStep?: (step: number, total: number) => void;
}

/** The sampler in use: the one given, else the table's default. */
export function samplerOf(options: MethodOptions): ShapleySampler {
  return options.sampler ?? (optionDefault('sampler') as ShapleySampler);
}

/** The stop rule in use: the one given, else the table's default. */
export function stopOf(options: MethodOptions): StopRule {
  return options.stop ?? (optionDefault('stop') as StopRule);
}

/** Samples of shapley-sampling when none are given (the option table's default). */
export const DEFAULT_SAMPLES = numberDefault('samples');

/** The seed in use: the one given, else the table's default. */
export function seedOf(options: MethodOptions): number {
  return options.seed ?? numberDefault('seed');
}

/** Integrated gradients' settings from a method's options (undefined: the table's defaults). */
function integratedGradientsOptionsOf(options: ModelMethodOptions): IntegratedGradientsOptions {
  const { steps, integration: rule, baseline, blurSigma } = options;
  return Object.fromEntries(Object.entries({ steps, rule, baseline, blurSigma }).filter(([, v]) => v !== undefined));
}

/** SmoothGrad's settings: its noisy copies are its samples (default SMOOTHGRAD_DEFAULTS.samples). */
function smoothGradOptionsOf(options: ModelMethodOptions): SmoothGradOptions {
  return { samples: options.samples ?? SMOOTHGRAD_DEFAULTS.samples, seed: seedOf(options), ...(options.noiseLevel !== undefined ? { noiseLevel: options.noiseLevel } : {}) };
}

/** RISE's settings from a method's options: masks are its samples. */
function riseOptionsOf(options: Pick<MethodOptions, 'samples' | 'seed' | 'riseCells' | 'riseProbability'>): RiseOptions {
  return {
    masks: options.samples ?? RISE_DEFAULT_MASKS,
    cells: options.riseCells ?? RISE_DEFAULT_CELLS,
    probability: options.riseProbability ?? RISE_DEFAULT_PROBABILITY,
    seed: seedOf(options),
  };
}

/** Players whose groups are estimated when there are too many players for every coalition. */
export const GROUP_CANDIDATES = 8;

const orderOf = (options: MethodOptions) => options.order ?? numberDefault('order');

function sampledGroupOptions(index: InteractionIndex, candidates: number[], options: MethodOptions): SampledHigherOrderOptions {
  return { index, order: orderOf(options), samples: options.samples ?? DEFAULT_SAMPLES, seed: seedOf(options), candidates };
}

/**
 * shapley-interaction / shapley-taylor. Up to 12 players, every group of 2..k from all 2^N
 * coalitions, and each player's score its order-1 term (shapley-interaction: its Shapley
 * value; shapley-taylor: its dividend v({i}) - v({})). Beyond, the groups of 2..k among the
 * GROUP_CANDIDATES players with the largest |full-context Shapley value| are estimated from
 * `samples` draws each (seeded), and the scores are those full-context values.
 */
async function groupInteractions(index: InteractionIndex, game: CoalitionGame, options: MethodOptions): Promise<Pick<Attribution, 'scores' | 'groups'>> {
  const N = game.players;
  if (N <= MAX_EXACT_INTERACTION_PLAYERS) {
    const terms = await higherOrderInteractions(game, { index, order: orderOf(options) });
    const scores = allPlayers(N).map((i) => terms.find((t) => t.players.length === 1 && t.players[0] === i)!.value);
    return { scores, groups: terms.filter((t) => t.players.length > 1) };
  }
  const scores = await shapleyFull(game);
  const candidates = allPlayers(N)
    .sort((a, b) => Math.abs(scores[b]!) - Math.abs(scores[a]!) || a - b)
    .slice(0, GROUP_CANDIDATES)
    .sort((a, b) => a - b);
  const terms = await sampledHigherOrderInteractions(game, sampledGroupOptions(index, candidates, options));
  return { scores, groups: terms.filter((t) => t.players.length > 1).map(({ players, value, standardError }) => ({ players, value, standardError })) };
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
    case 'rise-players':
      return done({ scores: await risePlayers(game, grid, riseOptionsOf(options)) });
    case 'shapley-interaction':
    case 'shapley-taylor':
      return done(await groupInteractions(method, game, options));
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
    case 'rise-players':
      return options.samples ?? RISE_DEFAULT_MASKS;
    case 'shapley-interaction':
    case 'shapley-taylor':
      return plannedCalls(method, N, options).reduce((sum, c) => sum + c.rows, 0);
    case 'interaction-self':
    case 'interaction-full':
      return (N * (N - 1)) / 2 + N + 1;
  }
}

export interface ModelMethodOptions extends Pick<MethodOptions, 'samples' | 'seed' | 'riseCells' | 'riseProbability' | 'steps' | 'integration' | 'baseline' | 'blurSigma' | 'noiseLevel'> {
  /** gradcam: output grid (the CAM is resized bilinearly when its own grid differs). */
  grid?: [number, number];
  augSmooth?: boolean;
  eigenSmooth?: boolean;
  fusion?: HeadFusion;
  discardRatio?: number;
}

/** Runs a method that looks inside the model on one image [1, C, H, W] for class `target`. */
export async function runModelMethod(method: ModelMethodName, model: ImageClassifier, image: HostTensor, target: number, options: ModelMethodOptions = {}): Promise<Attribution> {
  if (method === 'rise') {
    const r = await risePixels(model, image, target, options.grid ?? model.grid, riseOptionsOf(options));
    return { method, target, grid: r.grid, scores: r.scores, evaluations: r.passes };
  }
  if (method === 'integrated-gradients' || method === 'smoothgrad' || method === 'input-x-gradient') {
    const grid = options.grid ?? model.grid;
    const r =
      method === 'integrated-gradients'
        ? await integratedGradients(model, image, target, { ...integratedGradientsOptionsOf(options), grid })
        : method === 'smoothgrad'
          ? await smoothGrad(model, image, target, { ...smoothGradOptionsOf(options), grid })
          : await inputTimesGradient(model, image, target, { grid });
    return { method, target, grid: r.grid, scores: r.scores, evaluations: r.passes };
  }
  if (method === 'chefer') {
    const r = await cheferRelevance(model, image, target);
    return { method, target, grid: r.grid, scores: r.scores, evaluations: r.passes };
  }
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
 * Images a model method passes through the model for one explanation (its `evaluations`),
 * and whether each pass also runs backward.
 */
export function plannedModelPasses(method: ModelMethodName, options: ModelMethodOptions = {}): { passes: number; backward: boolean } {
  switch (method) {
    case 'gradcam':
      return { passes: options.augSmooth ? 6 : 1, backward: true };
    case 'rollout':
      return { passes: 1, backward: false };
    case 'chefer':
      return { passes: 1, backward: true };
    case 'integrated-gradients':
      return { passes: plannedGradientPasses(method, integratedGradientsOptionsOf(options)), backward: true };
    case 'smoothgrad':
      return { passes: plannedGradientPasses(method, smoothGradOptionsOf(options)), backward: true };
    case 'input-x-gradient':
      return { passes: plannedGradientPasses(method), backward: true };
    case 'rise':
      return { passes: riseOptionsOf(options).masks!, backward: false };
  }
}

/** FLOPs of a model method's planned passes, given one image's forward FLOPs: a backward pass costs about two forward passes. */
export function plannedModelFlops(method: ModelMethodName, options: ModelMethodOptions, imageFlops: number): number {
  const { passes, backward } = plannedModelPasses(method, options);
  return passes * (backward ? 3 : 1) * imageFlops;
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
    case 'rise-players':
      return chunkedCalls(options.samples ?? RISE_DEFAULT_MASKS, N);
    case 'shapley-interaction':
    case 'shapley-taylor': {
      if (N <= MAX_EXACT_INTERACTION_PLAYERS) return higherOrderPlannedCalls(N, { index: method, order: orderOf(options) });
      return [{ rows: N + 1, largest: N }, ...higherOrderPlannedCalls(N, sampledGroupOptions(method, allPlayers(Math.min(N, GROUP_CANDIDATES)), options))];
    }
  }
}

/** Total work of planned calls, given what one row of a given largest size costs (e.g. FLOPs). */
export function plannedWork(calls: readonly PlannedCall[], rowCost: (largest: number) => number): number {
  return calls.reduce((sum, c) => sum + c.rows * rowCost(c.largest), 0);
}
