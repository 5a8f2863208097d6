import { describe, expect, it } from 'vitest';
import { plannedCalls, plannedEvaluations, runMethod } from '../src/methods/run-method.ts';
import { AnalyticGame } from './analytic-game.ts';

// shapley-interaction and shapley-taylor as methods (runMethod): which groups they report,
// the scores the heatmap colours, and the coalitions planned = evaluated, exact and sampled.

/** v = 1 exactly when players 0, 1 and 2 are all present. */
const triple = (n: number) => new AnalyticGame(n, (s) => Number(s.has(0) && s.has(1) && s.has(2)));

describe('group interaction methods up to 12 players (exact)', () => {
  it('shapley-taylor of order 3: the triple holds all of v(N) - v({}), the players none of it alone', async () => {
    const game = triple(4);
    const a = await runMethod('shapley-taylor', game, [2, 2], { order: 3 });
    expect(a.scores).toEqual([0, 0, 0, 0]);
    const value = (players: number[]) => a.groups!.find((g) => g.players.join() === players.join())!.value;
    expect(value([0, 1, 2])).toBeCloseTo(1, 12);
    expect(value([0, 1])).toBeCloseTo(0, 12);
    expect(a.groups).toHaveLength(6 + 4);
    expect(a.evaluations).toBe(16);
    expect(plannedEvaluations('shapley-taylor', 4, { order: 3 })).toBe(16);
  });

  it('shapley-interaction of order 2: the scores are the Shapley values (1/3 each for the triple), the pairs of the triple 1/2', async () => {
    const a = await runMethod('shapley-interaction', triple(4), [2, 2], { order: 2 });
    a.scores.forEach((s, i) => expect(s).toBeCloseTo(i < 3 ? 1 / 3 : 0, 12));
    expect(a.groups!.find((g) => g.players.join() === '0,1')!.value).toBeCloseTo(1 / 2, 12);
    expect(a.groups!.find((g) => g.players.join() === '0,3')!.value).toBeCloseTo(0, 12);
  });
});

describe('group interaction methods beyond 12 players (sampled among 8 candidates)', () => {
  // 16 players: 0..7 worth 1 + i each, 8..15 worth 0.01; the triple {0, 1, 2} adds 5.
  const game = () => new AnalyticGame(16, (s) => [...s].reduce((t, i) => t + (i < 8 ? 1 + i : 0.01), 0) + 5 * Number(s.has(0) && s.has(1) && s.has(2)));

  it('estimates the groups of the 8 players with the largest full-context values, with standard errors, as planned', async () => {
    const g = game();
    const options = { order: 3, samples: 5, seed: 1 };
    const a = await runMethod('shapley-interaction', g, [4, 4], options);
    expect(a.groups).toHaveLength(28 + 56);
    for (const group of a.groups!) {
      expect(group.players.every((p) => p < 8)).toBe(true);
      expect(group.standardError).toBeGreaterThanOrEqual(0);
    }
    // 17 coalitions choose the candidates; each pair costs 4 per draw, each triple 8.
    const planned = 17 + 28 * 5 * 4 + 56 * 5 * 8;
    expect([a.evaluations, plannedEvaluations('shapley-interaction', 16, options)]).toEqual([planned, planned]);
    expect(plannedCalls('shapley-interaction', 16, options).reduce((s, c) => s + c.rows, 0)).toBe(planned);
    // An additive game plus one triple: the only pure triple interaction is {0, 1, 2}, and
    // the triple term of SII at {0, 1, 2} is exactly 5 whatever T is drawn (the derivative is constant).
    expect(a.groups!.find((x) => x.players.join() === '0,1,2')!.value).toBeCloseTo(5, 9);
    expect(a.groups!.find((x) => x.players.join() === '3,4,5')!.value).toBeCloseTo(0, 9);
  });

  it('repeats itself for a seed, and another seed draws other coalitions', async () => {
    // The pair {0, 1} gains 5 exactly when a draw holds player 2: its estimate depends on the draws.
    const options = { order: 2, samples: 4, seed: 7 };
    const a = await runMethod('shapley-taylor', game(), [4, 4], options);
    const b = await runMethod('shapley-taylor', game(), [4, 4], options);
    const c = await runMethod('shapley-taylor', game(), [4, 4], { ...options, seed: 8 });
    expect(b.groups).toEqual(a.groups);
    expect(c.groups).not.toEqual(a.groups);
  });
});
