import type { HostTensor, ImageClassifier } from '@moxi/kernels';
import type { Attribution } from './attribution.ts';
import { ModelGames, type ModelGameOptions } from './model-game.ts';

/** What the model makes of the image after step t of a MoXI search. */
export interface MoxiStep {
  /** 1-based step: t players inserted (insertion) or removed (deletion). */
  step: number;
  /** The players still shown. */
  shown: number[];
  /** The model's top class on that coalition. */
  top: number;
  /** Softmax probability of the explained class. */
  targetProbability: number;
  /** v of that coalition: equals the attribution's rewards[t - 1]. */
  reward: number;
}

/**
 * Replays a MoXI order on one image [1, C, H, W], one forward row per step, in the game
 * the search ran in (same players, masking and reward): the step-through view of a front-end.
 */
export async function moxiSteps(model: ImageClassifier, image: HostTensor, attribution: Attribution, game: ModelGameOptions): Promise<MoxiStep[]> {
  const order = attribution.order;
  if (!order) throw new Error(`${attribution.method} has no greedy order to replay`);
  const games = await ModelGames.create(model, image, { ...game, target: attribution.target });
  try {
    const N = games.players;
    const insertion = attribution.method === 'moxi-insertion';
    const coalitions = order.map((_, t) => {
      const chosen = new Set(order.slice(0, t + 1));
      return insertion ? order.slice(0, t + 1) : Array.from({ length: N }, (_, p) => p).filter((p) => !chosen.has(p));
    });
    const values = await games.games[0]!.evaluate(coalitions);
    return coalitions.map((shown, t) => ({
      step: t + 1,
      shown: [...shown].sort((a, b) => a - b),
      top: values.top1[t]!,
      targetProbability: values.targetProbability[t]!,
      reward: values.rewards[t]!,
    }));
  } finally {
    games.release();
  }
}
