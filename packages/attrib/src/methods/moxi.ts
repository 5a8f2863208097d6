import { numberDefault, type StopRule } from '../explain-options.ts';
import { complement, type CoalitionGame } from '../game.ts';

export interface MoxiOptions {
  direction: 'insertion' | 'deletion';
  /** full: rank every player; correct: stop at the paper's stop rule (runtime setting). */
  stop: StopRule;
  /** Insertion's stop rule also needs p_target >= this. */
  minConfidence?: number;
  onStep?: (step: number, total: number) => void;
}

export interface MoxiResult {
  order: number[];
  rewards: number[];
  stopStep: number;
  /** False when the stop rule never held: stopStep is then N. */
  stopHeld: boolean;
  scores: number[];
}

/**
 * MoXI (docs/methods.md): greedy insertion (argmax of v(S + i)) or deletion (argmin of
 * v(N - R - i)). Step t evaluates only the N - t + 1 players still free, in one batch;
 * ties go to the lowest index. Since v(S) is common to all candidates, insertion's argmax
 * is the argmax of phi_self(i) + I(i, S): self-context value plus interaction with the
 * chosen group, which is what lets it skip redundant patches.
 */
export async function moxi(game: CoalitionGame, options: MoxiOptions): Promise<MoxiResult> {
  const N = game.players;
  const insertion = options.direction === 'insertion';
  const tau = options.minConfidence ?? numberDefault('minConfidence');
  const order: number[] = [];
  const rewards: number[] = [];
  let stopStep: number | undefined;
  let free = Array.from({ length: N }, (_, i) => i);
  for (let step = 1; step <= N; step++) {
    const coalitions = free.map((i) => (insertion ? [...order, i] : complement(N, [...order, i])));
    const values = await game.evaluate(coalitions);
    let best = 0;
    for (let k = 1; k < free.length; k++) {
      const better = insertion ? values.rewards[k]! > values.rewards[best]! : values.rewards[k]! < values.rewards[best]!;
      if (better) best = k;
    }
    const player = free[best]!;
    order.push(player);
    rewards.push(values.rewards[best]!);
    free = free.filter((p) => p !== player);
    const stopHolds = insertion
      ? values.top1[best] === game.target && values.targetProbability[best]! >= tau
      : values.top1[best] !== game.target;
    if (stopStep === undefined && stopHolds) stopStep = step;
    options.onStep?.(step, N);
    if (options.stop === 'correct' && stopStep !== undefined) break;
  }
  const c = stopStep ?? N;
  // The official code's heatmap: the player of 0-based rank r < c weighs c - r.
  const scores = new Array<number>(N).fill(0);
  order.forEach((p, r) => {
    if (r < c) scores[p] = c - r;
  });
  return { order, rewards, stopStep: c, stopHeld: stopStep !== undefined, scores };
}
