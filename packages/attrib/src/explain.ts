import { stackBatch, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import { isCoalitionMethod, type Attribution, type CoalitionMethodName, type MethodName, type ModelMethodName } from './attribution.ts';
import { stopOf, plannedCalls, plannedEvaluations, plannedModelFlops, plannedModelPasses, plannedWork, runMethod, runModelMethod, type MethodOptions, type ModelMethodOptions } from './methods/run-method.ts';
import { DEFAULT_MAX_EVALUATIONS } from './methods/shapley.ts';
import { ModelGames, type ModelGameOptions } from './model-game.ts';
import { logProb, topClass } from './reward.ts';

/**
 * One explanation request, whatever front-end made it (the CLI, the page): the method, the
 * game its coalitions are evaluated in, and the method's own options.
 */
export interface ExplainSpec {
  method: MethodName;
  game: ModelGameOptions;
  /** Black-box methods: stop rule, samples, seed, the evaluation budget. */
  options?: MethodOptions;
  /** gradcam / rollout: smoothing and head fusion (the grid comes from `game.grid`). */
  modelOptions?: Omit<ModelMethodOptions, 'grid'>;
  /** Images whose coalitions share forward passes (bounds host and GPU memory); default 16. */
  imagesPerGroup?: number;
}

/** What a black-box method will cost, per image, before any coalition is evaluated. */
export interface ExplainPlan {
  method: CoalitionMethodName;
  images: number;
  grid: [number, number];
  /** Coalitions per image (MoXI: with a full ranking, an upper bound under its stop rule). */
  evaluations: number;
  /** FLOPs per image of the planned forward rows (token masking counts only the tokens kept). */
  flops: number;
  /** MoXI under its stop rule may end sooner than planned. */
  mayStopEarly: boolean;
}

export interface ExplainHooks {
  /** Called once, before the first coalition, with the plan per image. */
  onPlan?: (plan: ExplainPlan) => void;
  /** Running totals over all images: coalitions evaluated and their FLOPs. */
  onProgress?: (evaluations: number, flops: number) => void;
  /** Model methods: images done. */
  onImage?: (done: number, total: number) => void;
  /**
   * Cancels the explanation: checked before each image and after each forward call, so a
   * front-end's cancel button takes effect within one batch; the call rejects with the
   * signal's reason once the passes already on the GPU have finished.
   */
  signal?: AbortSignal;
}

export interface Explanation {
  attribution: Attribution;
  /** The class predicted on the full image. */
  predicted: number;
  /** The probability of the explained class on the full image. */
  probability: number;
  /** Coalitions (black-box methods) or images through the model (the others), and GFLOP, planned for this image. */
  planned?: { evaluations: number; gflop: number };
}

/** Why the library refused a request; front-ends name their own flags for it. */
export type ExplainRefusalReason = 'contrast-is-prediction' | 'over-evaluation-budget';

export class ExplainRefusal extends Error {
  constructor(
    readonly reason: ExplainRefusalReason,
    message: string,
    readonly details: Record<string, number | string>,
  ) {
    super(message);
    this.name = 'ExplainRefusal';
  }
}

const DEFAULT_IMAGES_PER_GROUP = 16;

/**
 * Explains each image [1, C, H, W] with one method: the use case every front-end shares.
 * Black-box methods run the images of a group concurrently, their coalitions sharing forward
 * passes; the plan is checked against `options.maxEvaluations` before any coalition.
 */
export async function explainImages(model: ImageClassifier, images: readonly HostTensor[], spec: ExplainSpec, hooks: ExplainHooks = {}): Promise<Explanation[]> {
  if (!isCoalitionMethod(spec.method)) return explainByModel(model, images, spec.method, spec, hooks);
  return explainByCoalitions(model, images, spec.method, spec, hooks);
}

async function explainByCoalitions(model: ImageClassifier, images: readonly HostTensor[], method: CoalitionMethodName, spec: ExplainSpec, hooks: ExplainHooks): Promise<Explanation[]> {
  const options = spec.options ?? {};
  const perGroup = spec.imagesPerGroup ?? DEFAULT_IMAGES_PER_GROUP;
  const results: Explanation[] = [];
  let before = { evaluations: 0, flops: 0 };
  let planned = false;
  for (let first = 0; first < images.length; first += perGroup) {
    hooks.signal?.throwIfAborted();
    const games = await ModelGames.create(model, stackBatch(images.slice(first, first + perGroup)), spec.game);
    try {
      for (const game of games.games) {
        if (spec.game.contrast && game.target === game.predicted) {
          const which = images.length > 1 ? ` of image ${first + game.index + 1}` : '';
          throw new ExplainRefusal('contrast-is-prediction', `class ${game.target} is the prediction itself${which}; contrast it with another class`, {
            class: game.target,
            image: first + game.index + 1,
            images: images.length,
          });
        }
      }
      const plan = planOf(model, games, method, options, images.length);
      if (!planned) {
        planned = true;
        hooks.onPlan?.(plan);
      }
      const offset = before;
      games.onEvaluate = (n, flops) => {
        hooks.signal?.throwIfAborted();
        hooks.onProgress?.(offset.evaluations + n, offset.flops + flops);
      };
      const attributions = await games.runAll((game) => runMethod(method, game, games.playerGrid.grid, options));
      attributions.forEach((attribution, k) =>
        results.push({
          attribution,
          predicted: games.games[k]!.predicted,
          probability: games.games[k]!.fullProbability,
          planned: { evaluations: plan.evaluations, gflop: plan.flops / 1e9 },
        }),
      );
      before = { evaluations: offset.evaluations + games.evaluations, flops: offset.flops + games.flops };
    } finally {
      games.release();
    }
  }
  return results;
}

/** The plan of one image's explanation, refused beyond the evaluation budget. */
function planOf(model: ImageClassifier, games: ModelGames, method: CoalitionMethodName, options: MethodOptions, images: number): ExplainPlan {
  const N = games.players;
  const evaluations = plannedEvaluations(method, N, options);
  const budget = options.maxEvaluations ?? DEFAULT_MAX_EVALUATIONS;
  if (evaluations > budget) {
    throw new ExplainRefusal('over-evaluation-budget', `${method} on ${N} players plans ${evaluations} coalitions, over the budget of ${budget}`, {
      method,
      players: N,
      evaluations,
      budget,
    });
  }
  const flops = plannedWork(plannedCalls(method, N, options), (largest) => games.playerGrid.rowFlops(model, largest));
  return { method, images, grid: games.playerGrid.grid, evaluations, flops, mayStopEarly: method.startsWith('moxi-') && stopOf(options) === 'correct' };
}

async function explainByModel(model: ImageClassifier, images: readonly HostTensor[], method: ModelMethodName, spec: ExplainSpec, hooks: ExplainHooks): Promise<Explanation[]> {
  const grid = spec.game.grid === undefined ? model.grid : ([spec.game.grid, spec.game.grid] as [number, number]);
  const results: Explanation[] = [];
  for (const image of images) {
    hooks.signal?.throwIfAborted();
    const { logits } = await model.forward(image);
    const predicted = topClass(logits);
    const target = spec.game.target ?? predicted;
    // The sampling options (samples, seed, RISE's grid) live with the black-box methods' options.
    const options: ModelMethodOptions = { grid, ...spec.options, ...spec.modelOptions };
    const attribution = await runModelMethod(method, model, image, target, options);
    const planned = { evaluations: plannedModelPasses(method, options).passes, gflop: plannedModelFlops(method, options, model.flopsPerImage()) / 1e9 };
    results.push({ attribution, predicted, probability: Math.exp(logProb(logits, target)), planned });
    hooks.onImage?.(results.length, images.length);
  }
  return results;
}
