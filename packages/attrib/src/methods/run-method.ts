import type { Attribution, MethodName } from '../attribution.ts';
import type { CoalitionGame } from '../game.ts';
import { interactionFull, interactionSelf } from './interactions.ts';
import { moxi } from './moxi.ts';
import { DEFAULT_MAX_EVALUATIONS, shapleyExact, shapleyFull, shapleySelf } from './shapley.ts';
import { shapleyPermutationSampling, shapleySharedSizeSampling, type ShapleySampler } from './shapley-sampling.ts';

export interface MethodOptions {
  stop?: 'full' | 'correct';
  minConfidence?: number;
  samples?: number;
  sampler?: ShapleySampler;
  seed?: number;
  maxEvaluations?: number;
  onStep?: (step: number, total: number) => void;
}

export const DEFAULT_SAMPLES = 128;

/** Runs one black-box method on a game; `grid` is the game's player grid. */
export async function runMethod(method: MethodName, game: CoalitionGame, grid: [number, number], options: MethodOptions = {}): Promise<Attribution> {
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
        stop: options.stop ?? 'full',
        ...(options.minConfidence !== undefined ? { minConfidence: options.minConfidence } : {}),
        ...(options.onStep ? { onStep: options.onStep } : {}),
      });
      return done({ scores: r.scores, order: r.order, rewards: r.rewards, stopStep: r.stopStep });
    }
    case 'shapley-self':
      return done({ scores: await shapleySelf(game) });
    case 'shapley-full':
      return done({ scores: await shapleyFull(game) });
    case 'shapley-exact':
      return done({ scores: await shapleyExact(game, options.maxEvaluations ?? DEFAULT_MAX_EVALUATIONS) });
    case 'shapley-sampling': {
      const samples = options.samples ?? DEFAULT_SAMPLES;
      const seed = options.seed ?? 0;
      const scores =
        options.sampler === 'shared-size' ? await shapleySharedSizeSampling(game, samples, seed) : await shapleyPermutationSampling(game, samples, seed);
      return done({ scores });
    }
    case 'interaction-self':
    case 'interaction-full': {
      const r = method === 'interaction-self' ? await interactionSelf(game) : await interactionFull(game);
      return done({ scores: r.scores, interactions: r.interactions });
    }
  }
}

/** Coalitions a method will evaluate on N players (MoXI: with --stop full). */
export function plannedEvaluations(method: MethodName, N: number, options: MethodOptions = {}): number {
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
      return options.sampler === 'shared-size' ? 2 * N * samples : samples * (N - 1) + 2;
    case 'interaction-self':
    case 'interaction-full':
      return (N * (N - 1)) / 2 + N + 1;
  }
}
