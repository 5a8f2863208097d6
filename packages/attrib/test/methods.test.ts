import { describe, expect, it } from 'vitest';
import { OptionError } from '@moxi/kernels';
import { interactionFull, interactionSelf } from '../src/methods/interactions.ts';
import { moxi } from '../src/methods/moxi.ts';
import { plannedCalls, plannedEvaluations, plannedWork, runMethod } from '../src/methods/run-method.ts';
import { shapleyExact, shapleyFull, shapleySelf } from '../src/methods/shapley.ts';
import { shapleyPermutationSampling, shapleySharedSizeSampling } from '../src/methods/shapley-sampling.ts';
import { additive, AnalyticGame, andPair, orPair } from './analytic-game.ts';

// Analytic games with values worked out by hand (1e-12: the methods do a few float64
// additions of exact binary fractions).
const close = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 12));
};

describe('Shapley values', () => {
  it.each([
    { game: 'additive', make: () => additive([0.5, -1, 2, 0.25]), exact: [0.5, -1, 2, 0.25], self: [0.5, -1, 2, 0.25], full: [0.5, -1, 2, 0.25] },
    { game: 'AND pair', make: andPair, exact: [1.5, 1.5, 1, 0.5], self: [0, 0, 1, 0.5], full: [3, 3, 1, 0.5] },
    { game: 'OR pair', make: orPair, exact: [1, 1, 1], self: [2, 2, 1], full: [0, 0, 1] },
  ])('$game: exact, self and full context', async ({ make, exact, self, full }) => {
    close(await shapleyExact(make()), exact);
    close(await shapleySelf(make()), self);
    close(await shapleyFull(make()), full);
  });

  it('exact is efficient: the values sum to v(N) - v({}) on a non-additive game', async () => {
    const v = (s: Set<number>) => (s.size ** 2) / 3 + (s.has(1) && s.has(4) ? 1.25 : 0) - (s.has(0) ? 0.5 : 0);
    const phi = await shapleyExact(new AnalyticGame(6, v));
    expect(phi.reduce((a, b) => a + b, 0)).toBeCloseTo(v(new Set([0, 1, 2, 3, 4, 5])) - v(new Set()), 12);
    expect(phi[1]).toBeCloseTo(phi[4]!, 12);
  });

  it('counts N + 1 evaluations for self and full context, 2^N for exact', async () => {
    for (const [run, expected] of [[shapleySelf, 5], [shapleyFull, 5], [shapleyExact, 16]] as const) {
      const game = andPair();
      await run(game);
      expect(game.evaluations).toBe(expected);
    }
  });

  it('refuses exact values past maxEvaluations with an OptionError in library terms', async () => {
    const error = await shapleyExact(additive(new Array(21).fill(1))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionError);
    expect((error as OptionError).option).toBe('maxEvaluations');
    expect((error as OptionError).message).toMatch(/^maxEvaluations: shapley-exact on 21 players needs 2\^21 = 2,097,152 evaluations, over maxEvaluations 1,048,576; /);
    expect((error as OptionError).message).toContain('use a coarser grid, raise maxEvaluations, or use shapley-sampling');
    expect((error as OptionError).message).not.toContain('--');
  });
});

describe('interactions', () => {
  it('AND pair: +3 between 0 and 1 in both contexts, 0 elsewhere', async () => {
    for (const run of [interactionSelf, interactionFull]) {
      const { interactions } = await run(andPair());
      const expected = [[0, 3, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]];
      expect(interactions).toHaveLength(4);
      interactions.forEach((row, i) => close(row, expected[i]!));
    }
  });

  it('OR pair: -2 between the redundant players (negative interaction)', async () => {
    const self = await interactionSelf(orPair());
    const full = await interactionFull(orPair());
    expect(self.interactions[0]![1]).toBeCloseTo(-2, 12);
    expect(full.interactions[1]![0]).toBeCloseTo(-2, 12);
    close(self.scores, [2, 2, 1]);
    close(full.scores, [0, 0, 1]);
  });
});

describe('MoXI', () => {
  it('insertion skips the redundant player that self-context Shapley ranks second', async () => {
    const r = await moxi(orPair(), { direction: 'insertion', stop: 'full' });
    expect(r.order).toEqual([0, 2, 1]);
    close(r.rewards, [2, 3, 3]);
    // Shapley-self ranks 0, 1, 2: it would spend step 2 on the duplicate.
    expect(await shapleySelf(orPair())).toEqual([2, 2, 1]);
  });

  it('insertion and deletion on the AND pair', async () => {
    expect((await moxi(andPair(), { direction: 'insertion', stop: 'full' })).order).toEqual([2, 3, 0, 1]);
    const deletion = await moxi(andPair(), { direction: 'deletion', stop: 'full' });
    expect(deletion.order).toEqual([0, 2, 3, 1]);
    close(deletion.rewards, [1.5, 0.5, 0, 0]);
  });

  it('orders an additive game by value, ties to the lowest index', async () => {
    const r = await moxi(additive([1, 3, 3, -2, 0]), { direction: 'insertion', stop: 'full' });
    expect(r.order).toEqual([1, 2, 0, 4, 3]);
    const d = await moxi(additive([1, 3, 3, -2, 0]), { direction: 'deletion', stop: 'full' });
    expect(d.order).toEqual([1, 2, 0, 4, 3]);
  });

  it('step t evaluates only the N - t + 1 free players', async () => {
    const game = additive([1, 2, 3, 4, 5, 6, 7]);
    await moxi(game, { direction: 'insertion', stop: 'full' });
    expect(game.evaluations).toBe((7 * 8) / 2);
  });

  it('stops where the prediction becomes the target (insertion) and gives the official heatmap weights', async () => {
    const game = orPair();
    const r = await moxi(game, { direction: 'insertion', stop: 'correct' });
    expect(r.order).toEqual([0, 2]);
    expect(r.stopStep).toBe(2);
    expect(game.evaluations).toBe(3 + 2);
    // rank r < c gets c - r: player 0 -> 2, player 2 -> 1, the rest 0.
    expect(r.scores).toEqual([2, 0, 1]);
  });

  it('holds insertion until p_target reaches --min-confidence', async () => {
    const game = new AnalyticGame(3, (s) => s.size, () => 0, (s) => [0.2, 0.4, 0.7, 0.9][s.size]!);
    expect((await moxi(game, { direction: 'insertion', stop: 'correct', minConfidence: 0.6 })).stopStep).toBe(2);
  });

  it('deletion stops at the first step whose prediction is not the target', async () => {
    const r = await moxi(orPair(), { direction: 'deletion', stop: 'correct' });
    expect(r.order).toEqual([2]);
    expect(r.stopStep).toBe(1);
    const full = await moxi(orPair(), { direction: 'deletion', stop: 'full' });
    expect(full.stopStep).toBe(1);
    expect(full.order).toHaveLength(3);
    expect(full.scores).toEqual([0, 0, 1]);
    expect(full.stopHeld).toBe(true);
  });

  it('says when the stop rule never held: every player ranked, stopStep N, stopHeld false', async () => {
    const never = new AnalyticGame(3, (s) => s.size, () => 1);
    const r = await moxi(never, { direction: 'insertion', stop: 'correct' });
    expect(r.order).toHaveLength(3);
    expect(r.stopStep).toBe(3);
    expect(r.stopHeld).toBe(false);
  });
});

describe('Shapley sampling', () => {
  // Exact values of a game with pairwise and higher-order terms, and the estimators'
  // root-mean-square error over 60 seeds at each sample count.
  const N = 6;
  const v = (s: Set<number>) =>
    [0.3, -0.8, 1.1, 0.4, -0.2, 0.9].reduce((t, a, i) => t + (s.has(i) ? a : 0), 0) +
    2 * Number(s.has(0) && s.has(1)) +
    1.5 * Number(s.has(2) || s.has(3)) +
    (s.size ** 3) / 40;

  async function rmse(samples: number): Promise<number> {
    const exact = await shapleyExact(new AnalyticGame(N, v));
    let sq = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const est = await shapleyPermutationSampling(new AnalyticGame(N, v), samples, seed);
      est.forEach((e, i) => (sq += (e - exact[i]!) ** 2));
    }
    return Math.sqrt(sq / (60 * N));
  }

  it('permutation sampling error shrinks like 1/sqrt(samples)', async () => {
    const counts = [8, 32, 128, 512];
    const errors = await Promise.all(counts.map(rmse));
    // Least-squares slope of log error against log samples: -0.5 for 1/sqrt(M).
    const xs = counts.map(Math.log);
    const ys = errors.map(Math.log);
    const mx = xs.reduce((a, b) => a + b) / xs.length;
    const my = ys.reduce((a, b) => a + b) / ys.length;
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    expect(slope).toBeGreaterThan(-0.65);
    expect(slope).toBeLessThan(-0.35);
    expect(errors[3]!).toBeLessThan(errors[0]! / 4);
  });

  it('is exact on additive games, both samplers', async () => {
    close(await shapleyPermutationSampling(additive([1, -2, 0.5]), 6, 3), [1, -2, 0.5]);
    close(await shapleySharedSizeSampling(additive([1, -2, 0.5]), 6, 3), [1, -2, 0.5]);
  });

  it('batches antithetic permutations: M (N - 1) + 2 evaluations', async () => {
    const game = new AnalyticGame(N, v);
    await shapleyPermutationSampling(game, 10, 1);
    expect(game.evaluations).toBe(10 * (N - 1) + 2);
  });

  it('shared-size sampling costs 2N evaluations per sample and is reproducible by seed', async () => {
    const a = new AnalyticGame(N, v);
    const first = await shapleySharedSizeSampling(a, 7, 42);
    expect(a.evaluations).toBe(7 * 2 * N);
    expect(await shapleySharedSizeSampling(new AnalyticGame(N, v), 7, 42)).toEqual(first);
  });
});

describe('planned evaluations', () => {
  it.each([
    ['moxi-insertion', { stop: 'full' as const }, 21],
    ['shapley-exact', {}, 64],
    ['shapley-sampling', { samples: 10 }, 52],
    ['shapley-sampling', { samples: 10, sampler: 'shared-size' as const }, 120],
    ['interaction-full', {}, 22],
  ] as const)('%s %j on 6 players matches what the method evaluates', async (method, options, expected) => {
    const game = new AnalyticGame(6, (s) => s.size ** 2);
    await runMethod(method, game, [2, 3], options);
    expect(plannedEvaluations(method, 6, options)).toBe(expected);
    expect(game.evaluations).toBe(expected);
  });
});

/** An analytic game that records each evaluate() call: its row count and largest coalition. */
class RecordingGame extends AnalyticGame {
  calls: Array<{ rows: number; largest: number }> = [];

  override async evaluate(coalitions: ReadonlyArray<ReadonlyArray<number>>) {
    this.calls.push({ rows: coalitions.length, largest: Math.max(...coalitions.map((c) => c.length)) });
    return super.evaluate(coalitions);
  }
}

describe('planned calls (what cost estimates are based on)', () => {
  it.each([
    ['moxi-insertion', { stop: 'full' as const }],
    ['moxi-deletion', {}],
    ['shapley-self', {}],
    ['shapley-full', {}],
    ['shapley-exact', {}],
    ['shapley-sampling', { samples: 10 }],
    ['interaction-self', {}],
    ['interaction-full', {}],
  ] as const)('%s %j on 6 players: the same calls, sizes and rows the method makes', async (method, options) => {
    const game = new RecordingGame(6, (s) => s.size ** 2 + (s.has(2) ? 1 : 0));
    await runMethod(method, game, [2, 3], options);
    expect(plannedCalls(method, 6, options)).toEqual(game.calls);
  });

  it('shared-size sampling: the same calls and rows; sizes spread as their expectation', async () => {
    const N = 9;
    const samples = 400;
    const game = new RecordingGame(N, (s) => s.size);
    await runMethod('shapley-sampling', game, [3, 3], { samples, sampler: 'shared-size' });
    const planned = plannedCalls('shapley-sampling', N, { samples, sampler: 'shared-size' });
    expect(planned.map((c) => c.rows)).toEqual(game.calls.map((c) => c.rows));
    const mean = (calls: Array<{ largest: number }>) => calls.reduce((a, c) => a + c.largest, 0) / calls.length;
    // Drawn sizes s + 1 with s uniform on 0..N-2: mean N/2 = 4.5, sd of the mean about 0.12.
    expect(Math.abs(mean(planned) - mean(game.calls))).toBeLessThan(0.5);
  });

  it('work weighs each row by the cost of its largest coalition', () => {
    expect(plannedWork(plannedCalls('moxi-insertion', 3), (k) => k)).toBe(3 * 1 + 2 * 2 + 1 * 3);
    expect(plannedWork(plannedCalls('moxi-deletion', 3), (k) => k)).toBe(3 * 2 + 2 * 1 + 1 * 0);
  });
});

