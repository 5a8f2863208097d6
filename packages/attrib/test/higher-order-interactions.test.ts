import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OptionError, prepareModel } from '@moxi/kernels';
import { readInputFile, readModelFiles } from '@moxi/kernels/node';
import type { CoalitionGame, CoalitionValues } from '../src/game.ts';
import {
  higherOrderInteractions,
  higherOrderPlannedCalls,
  higherOrderPlannedEvaluations,
  sampledHigherOrderInteractions,
  type InteractionIndex,
  type InteractionTerm,
} from '../src/methods/higher-order-interactions.ts';
import { shapleyExact } from '../src/methods/shapley.ts';
import { ModelGames } from '../src/model-game.ts';
import { additive, AnalyticGame, arbitraryGame } from './analytic-game.ts';
import { testEngine } from './gpu.ts';

// The references below are written from other characterisations of the indices than the
// defining sums the module uses: the Harsanyi dividends m (a fast Moebius transform) and
// uniform orders of the players. In terms of m (Grabisch and Roubens 1999; Sundararajan et
// al. 2020, Prop. 3):
//   SII(S) = sum_{T superset of S} m(T) / (|T| - |S| + 1),
//   ST_k(S) = m(S) for |S| < k,  sum_{T superset of S} m(T) / C(|T|, k) for |S| = k.

/** v over all 2^n coalitions (player i in bit i), read through the game. */
async function tableOf(game: CoalitionGame): Promise<Float64Array> {
  const n = game.players;
  const masks = Array.from({ length: 2 ** n }, (_, m) => m);
  return (await game.evaluate(masks.map((m) => [...Array(n).keys()].filter((i) => (m >> i) & 1)))).rewards;
}

const bits = (m: number) => [...m.toString(2)].filter((c) => c === '1').length;
const maskOf = (players: readonly number[]) => players.reduce((m, p) => m | (1 << p), 0);
const choose = (n: number, k: number): number => (k < 0 || k > n ? 0 : k === 0 ? 1 : (choose(n - 1, k - 1) * n) / k);

/** Harsanyi dividends by the in-place Moebius transform (one bit at a time). */
function dividends(v: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(v);
  for (let i = 0; i < n; i++) for (let S = 0; S < 2 ** n; S++) if ((S >> i) & 1) m[S]! -= m[S ^ (1 << i)]!;
  return m;
}

function referenceByDividends(v: Float64Array, n: number, index: InteractionIndex, k: number, group: number[]): number {
  const m = dividends(v, n);
  const S = maskOf(group);
  const s = group.length;
  if (index === 'shapley-taylor' && s < k) return m[S]!;
  let sum = 0;
  for (let T = 0; T < 2 ** n; T++) {
    if ((T & S) !== S) continue;
    sum += index === 'shapley-interaction' ? m[T]! / (bits(T) - s + 1) : m[T]! / choose(bits(T), k);
  }
  return sum;
}

/** Every ordering of `items`. */
function permutations<X>(items: X[]): X[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/** Inclusion-exclusion of v over the ways to add parts of S to T. */
function derivativeAt(v: Float64Array, S: number[], T: number): number {
  let sum = 0;
  for (let w = 0; w < 2 ** S.length; w++) {
    const W = S.filter((_, j) => (w >> j) & 1);
    sum += (S.length - W.length) % 2 === 0 ? v[T | maskOf(W)]! : -v[T | maskOf(W)]!;
  }
  return sum;
}

/**
 * The indices as expectations over uniform orders: Shapley-Taylor's top terms take T = the
 * players before S's first member in an order of all n; SII merges S into one player and
 * takes T = the players before it in an order of the n - |S| + 1 players then left.
 */
function referenceByOrders(v: Float64Array, n: number, index: InteractionIndex, group: number[]): number {
  const others = [...Array(n).keys()].filter((p) => !group.includes(p));
  const units: number[] = index === 'shapley-interaction' ? [...others, -1] : [...Array(n).keys()];
  const orders = permutations(units);
  let sum = 0;
  for (const order of orders) {
    const first = order.findIndex((p) => p === -1 || group.includes(p));
    sum += derivativeAt(v, group, maskOf(order.slice(0, first)));
  }
  return sum / orders.length;
}

const value = (terms: InteractionTerm[], players: number[]) => terms.find((t) => t.players.join() === players.join())!.value;

/** Groups reported for order k on n players: every group of 1..k, by size then lexicographic. */
function expectedGroups(n: number, k: number): number[][] {
  const out: number[][] = [];
  for (let size = 1; size <= Math.min(k, n); size++) {
    for (let m = 0; m < 2 ** n; m++) if (bits(m) === size) out.push([...Array(n).keys()].filter((i) => (m >> i) & 1));
  }
  return out.sort((a, b) => {
    if (a.length !== b.length) return a.length - b.length;
    const i = a.findIndex((x, j) => x !== b[j]);
    return i < 0 ? 0 : a[i]! - b[i]!;
  });
}

/** An analytic game that records each evaluate() call: its row count and largest coalition. */
class RecordingGame extends AnalyticGame {
  calls: Array<{ rows: number; largest: number }> = [];

  override async evaluate(coalitions: ReadonlyArray<ReadonlyArray<number>>) {
    this.calls.push({ rows: coalitions.length, largest: Math.max(...coalitions.map((c) => c.length)) });
    return super.evaluate(coalitions);
  }
}

/** v = 1 exactly when players 0, 1 and 2 are all in; player 3 never matters. */
const tripleAnd = () => new AnalyticGame(4, (s) => Number(s.has(0) && s.has(1) && s.has(2)));

describe('exact higher-order interactions on analytic games (values worked out by hand)', () => {
  it('additive game: singles are the values, every larger group 0, both indices and every order', async () => {
    const a = [0.5, -1, 2, 0.25, 3];
    for (const index of ['shapley-interaction', 'shapley-taylor'] as const) {
      for (let k = 1; k <= 4; k++) {
        const terms = await higherOrderInteractions(additive(a), { index, order: k });
        expect(terms.map((t) => t.players)).toEqual(expectedGroups(5, k));
        for (const t of terms) expect(t.value).toBeCloseTo(t.players.length === 1 ? a[t.players[0]!]! : 0, 12);
      }
    }
  });

  it('triple AND: SII gives 1/3 to each member, 1/2 to each pair of members, 1 to the triple', async () => {
    const terms = await higherOrderInteractions(tripleAnd(), { index: 'shapley-interaction', order: 4 });
    const inside = (g: number[]) => g.every((p) => p < 3);
    const want = (g: number[]) => (!inside(g) ? 0 : [0, 1 / 3, 1 / 2, 1][g.length]!);
    expect(terms).toHaveLength(15);
    for (const t of terms) expect(t.value).toBeCloseTo(want(t.players), 14);
  });

  it('triple AND: Shapley-Taylor puts the whole unit on the groups of size k that the dividend can reach', async () => {
    // k = 1: the Shapley values; k = 2: the dividend of {0,1,2} split over its 3 pairs;
    // k >= 3: all of it on {0,1,2} (every lower dividend is 0).
    const want: Record<number, (g: number[]) => number> = {
      1: (g) => (g[0]! < 3 ? 1 / 3 : 0),
      2: (g) => (g.length === 2 && g.every((p) => p < 3) ? 1 / 3 : 0),
      3: (g) => (g.join() === '0,1,2' ? 1 : 0),
      4: (g) => (g.join() === '0,1,2' ? 1 : 0),
    };
    for (let k = 1; k <= 4; k++) {
      const terms = await higherOrderInteractions(tripleAnd(), { index: 'shapley-taylor', order: k });
      for (const t of terms) expect(t.value).toBeCloseTo(want[k]!(t.players), 14);
      expect(terms.reduce((sum, t) => sum + t.value, 0)).toBeCloseTo(1, 14);
    }
  });
});

describe('exact higher-order interactions against independent references (arbitrary 7-player game, 1e-9)', () => {
  const N = 7;
  const make = () => arbitraryGame(N, 17);

  it.each([1, 2, 3, 4])('Shapley-Taylor of order %i: dividends below the order, the order-k terms by dividends and by orders', async (k) => {
    const v = await tableOf(make());
    const terms = await higherOrderInteractions(make(), { index: 'shapley-taylor', order: k });
    expect(terms.map((t) => t.players)).toEqual(expectedGroups(N, k));
    for (const t of terms) {
      expect(Math.abs(t.value - referenceByDividends(v, N, 'shapley-taylor', k, t.players))).toBeLessThan(1e-9);
      if (t.players.length === k) expect(Math.abs(t.value - referenceByOrders(v, N, 'shapley-taylor', t.players))).toBeLessThan(1e-9);
    }
  });

  it.each([1, 2, 3, 4])('Shapley-Taylor of order %i is efficient: the terms add up to v(N) - v({})', async (k) => {
    const v = await tableOf(make());
    const terms = await higherOrderInteractions(make(), { index: 'shapley-taylor', order: k });
    expect(Math.abs(terms.reduce((sum, t) => sum + t.value, 0) - (v[2 ** N - 1]! - v[0]!))).toBeLessThan(1e-9);
  });

  it('SII of order 4 equals both references on every group of 1..4 players', async () => {
    const v = await tableOf(make());
    const terms = await higherOrderInteractions(make(), { index: 'shapley-interaction', order: 4 });
    expect(terms).toHaveLength(7 + 21 + 35 + 35);
    for (const t of terms) {
      expect(Math.abs(t.value - referenceByDividends(v, N, 'shapley-interaction', 4, t.players))).toBeLessThan(1e-9);
      expect(Math.abs(t.value - referenceByOrders(v, N, 'shapley-interaction', t.players))).toBeLessThan(1e-9);
    }
  });

  it('SII of order 1 is the Shapley value (shapleyExact); of order 2 on pairs, the brute-force pair index', async () => {
    const single = await higherOrderInteractions(make(), { index: 'shapley-interaction', order: 1 });
    const phi = await shapleyExact(make());
    expect(single.map((t) => t.players[0])).toEqual([0, 1, 2, 3, 4, 5, 6]);
    single.forEach((t, i) => expect(Math.abs(t.value - phi[i]!)).toBeLessThan(1e-12));
    const v = await tableOf(make());
    const pairs = (await higherOrderInteractions(make(), { index: 'shapley-interaction', order: 2 })).filter((t) => t.players.length === 2);
    expect(pairs).toHaveLength(21);
    // Brute force straight from the permutation definition: the mean, over all 7! orders, of
    // the pair's joint contribution at the point where the first of the pair arrives, with
    // weight fixed by merging the pair (Grabisch and Roubens' "reduced game").
    for (const t of pairs) expect(Math.abs(t.value - referenceByOrders(v, N, 'shapley-interaction', t.players))).toBeLessThan(1e-9);
  });
});

describe('exact: cost plan and refusals', () => {
  it.each([
    [4, 'shapley-interaction', 2],
    [7, 'shapley-taylor', 3],
    [12, 'shapley-taylor', 4],
  ] as const)('%i players, %s of order %i: evaluates 2^n coalitions in exactly the planned calls', async (n, index, order) => {
    const game = new RecordingGame(n, (s) => s.size ** 2 + (s.has(1) ? 1 : 0));
    const terms = await higherOrderInteractions(game, { index, order });
    expect(game.evaluations).toBe(higherOrderPlannedEvaluations(n, { index, order }));
    expect(game.evaluations).toBe(2 ** n);
    expect(game.calls).toEqual(higherOrderPlannedCalls(n, { index, order }));
    expect(terms.length).toBe(expectedGroups(n, order).length);
  });

  it('refuses more than 12 players, orders outside 1..4 and unknown indices, with OptionErrors', async () => {
    const refusal = async (run: () => Promise<unknown>) => (await run().catch((e: unknown) => e)) as OptionError<string>;
    const tooMany = await refusal(() => higherOrderInteractions(additive(new Array(13).fill(1)), { index: 'shapley-taylor', order: 2 }));
    expect(tooMany).toBeInstanceOf(OptionError);
    expect(tooMany.option).toBe('grid');
    expect(tooMany.message).toMatch(/^grid: exact higher-order interactions read all 2\^n coalitions, up to 12 players; this grid gives 13/);
    expect(() => higherOrderPlannedCalls(13, { index: 'shapley-taylor', order: 2 })).toThrow(OptionError);
    for (const order of [0, 5, 2.5]) {
      const e = await refusal(() => higherOrderInteractions(additive([1, 2]), { index: 'shapley-interaction', order }));
      expect(e).toBeInstanceOf(OptionError);
      expect(e.option).toBe('order');
      expect(e.message).toContain('from 1 to 4');
    }
    const unknown = await refusal(() => higherOrderInteractions(additive([1, 2]), { index: 'banzhaf' as InteractionIndex, order: 2 }));
    expect(unknown.option).toBe('index');
  });
});

describe('sampled higher-order interactions', () => {
  const N = 7;
  const make = () => arbitraryGame(N, 17);

  // With 4,000 draws per term, each estimate is within 4.5 of its standard errors of the
  // exact value (about 0.1 here; seeded, so the check is deterministic), and the errors in
  // standard-error units have a root mean square near 1: the reported errors are honest.
  it.each([
    ['shapley-interaction', 3],
    ['shapley-taylor', 2],
    ['shapley-taylor', 3],
  ] as const)('%s of order %i on 7 players converges to the exact index', async (index, order) => {
    const exact = await higherOrderInteractions(make(), { index, order });
    const sampled = await sampledHigherOrderInteractions(make(), { index, order, samples: 4000, seed: 9, candidates: [0, 1, 2, 3, 4, 5, 6] });
    expect(sampled.map((t) => t.players)).toEqual(expectedGroups(N, order).filter((g) => g.length >= 2));
    const z: number[] = [];
    for (const t of sampled) {
      const want = value(exact, t.players);
      if (t.draws === 0) {
        // Shapley-Taylor below the order: the dividend itself, not an estimate.
        expect(t.standardError).toBe(0);
        expect(Math.abs(t.value - want)).toBeLessThan(1e-12);
        continue;
      }
      expect(t.draws).toBe(4000);
      expect(t.standardError).toBeGreaterThan(0);
      expect(t.standardError).toBeLessThan(0.2);
      z.push((t.value - want) / t.standardError);
    }
    expect(Math.max(...z.map(Math.abs))).toBeLessThan(4.5);
    const rms = Math.sqrt(z.reduce((a, x) => a + x * x, 0) / z.length);
    expect(rms).toBeGreaterThan(0.6);
    expect(rms).toBeLessThan(1.5);
  });

  it('Shapley-Taylor draws |T| by the order law, not uniformly: a biased sampler would miss by far more', async () => {
    // On this game the order-3 term of {0, 1, 2} depends on |T|; the exact value is what the
    // estimate must reach, and it differs from the uniform-size average by a wide margin.
    const v = await tableOf(make());
    const exact = value(await higherOrderInteractions(make(), { index: 'shapley-taylor', order: 3 }), [0, 1, 2]);
    let uniformSize = 0;
    for (let t = 0; t <= 4; t++) {
      let sizeMean = 0;
      let count = 0;
      for (let T = 0; T < 2 ** N; T++) {
        if ((T & 7) !== 0 || bits(T) !== t) continue;
        sizeMean += derivativeAt(v, [0, 1, 2], T);
        count += 1;
      }
      uniformSize += sizeMean / count / 5;
    }
    const [term] = await sampledHigherOrderInteractions(make(), { index: 'shapley-taylor', order: 3, samples: 20000, seed: 3, subsets: [[2, 0, 1]] });
    expect(term!.players).toEqual([0, 1, 2]);
    expect(Math.abs(term!.value - exact)).toBeLessThan(4.5 * term!.standardError);
    expect(Math.abs(uniformSize - exact)).toBeGreaterThan(10 * term!.standardError);
  });

  it('is reproducible by seed, and another seed draws otherwise', async () => {
    const options = { index: 'shapley-interaction' as const, order: 3, samples: 50, subsets: [[0, 1], [2, 4, 6]] };
    const a = await sampledHigherOrderInteractions(make(), { ...options, seed: 4 });
    const b = await sampledHigherOrderInteractions(make(), { ...options, seed: 4 });
    const c = await sampledHigherOrderInteractions(make(), { ...options, seed: 5 });
    expect(b).toEqual(a);
    expect(c.map((t) => t.value)).not.toEqual(a.map((t) => t.value));
  });

  it.each([
    ['shapley-interaction', { samples: 30, subsets: [[0], [1, 5], [2, 3, 4], [0, 1, 2, 3]] }, 4],
    ['shapley-taylor', { samples: 30, subsets: [[6], [1, 5], [2, 3, 4], [0, 1, 2, 3]] }, 4],
    ['shapley-taylor', { samples: 200, candidates: [0, 2, 4, 5, 6] }, 3],
    ['shapley-interaction', { samples: 120, candidates: [0, 1, 2, 3, 4, 5, 6] }, 3],
  ] as const)('%s %j of order %i: evaluates exactly the planned rows, in the planned calls', async (index, given, order) => {
    const options = { index, order, seed: 1, ...given };
    const game = new RecordingGame(N, (s) => s.size ** 2 + (s.has(2) ? 1 : 0));
    await sampledHigherOrderInteractions(game, options);
    const planned = higherOrderPlannedCalls(N, options);
    expect(game.evaluations).toBe(higherOrderPlannedEvaluations(N, options));
    expect(game.calls.map((c) => c.rows)).toEqual(planned.map((c) => c.rows));
    // The plan's largest is an upper bound for sampled terms (a draw may take every other player).
    game.calls.forEach((c, i) => expect(c.largest).toBeLessThanOrEqual(planned[i]!.largest));
  });

  it('plans 2^s rows per draw of each sampled term and 2^s once per Shapley-Taylor dividend', () => {
    expect(higherOrderPlannedEvaluations(20, { index: 'shapley-interaction', order: 3, samples: 10, subsets: [[0, 1], [3, 4, 5]] })).toBe(10 * 4 + 10 * 8);
    expect(higherOrderPlannedEvaluations(20, { index: 'shapley-taylor', order: 3, samples: 10, subsets: [[0, 1], [3, 4, 5]] })).toBe(4 + 10 * 8);
    // Only dividends: exact, and no coalition larger than the largest group.
    expect(higherOrderPlannedCalls(20, { index: 'shapley-taylor', order: 3, samples: 10, subsets: [[0, 1]] })).toEqual([{ rows: 4, largest: 2 }]);
    // 5,000 draws of a triple: 40,000 rows in 4,096-row calls.
    const calls = higherOrderPlannedCalls(64, { index: 'shapley-interaction', order: 3, samples: 5000, subsets: [[0, 1, 2]] });
    expect(calls).toHaveLength(10);
    expect(calls.at(-1)).toEqual({ rows: 40000 - 9 * 4096, largest: 64 });
  });

  it('refuses groups larger than the order, repeated or unknown players, no samples, and both or neither of subsets and candidates', async () => {
    const refused = async (options: Parameters<typeof sampledHigherOrderInteractions>[1], option: string) => {
      const e = (await sampledHigherOrderInteractions(make(), options).catch((x: unknown) => x)) as OptionError<string>;
      expect(e).toBeInstanceOf(OptionError);
      expect(e.option).toBe(option);
    };
    await refused({ index: 'shapley-taylor', order: 2, samples: 5, subsets: [[0, 1, 2]] }, 'subsets');
    await refused({ index: 'shapley-taylor', order: 2, samples: 5, subsets: [[1, 1]] }, 'subsets');
    await refused({ index: 'shapley-taylor', order: 2, samples: 5, subsets: [[0, 7]] }, 'subsets');
    await refused({ index: 'shapley-taylor', order: 2, samples: 5, candidates: [0, 9] }, 'candidates');
    await refused({ index: 'shapley-taylor', order: 2, samples: 0, subsets: [[0, 1]] }, 'samples');
    await refused({ index: 'shapley-taylor', order: 2, samples: 5 }, 'subsets');
    await refused({ index: 'shapley-taylor', order: 2, samples: 5, subsets: [[0, 1]], candidates: [0, 1] }, 'subsets');
    await refused({ index: 'shapley-taylor', order: 6, samples: 5, subsets: [[0, 1]] }, 'order');
  });
});

/** A game that passes calls on and keeps every value it saw, by coalition mask. */
class TableGame implements CoalitionGame {
  readonly seen = new Map<number, number>();

  constructor(private readonly inner: CoalitionGame) {}

  get players() {
    return this.inner.players;
  }
  get target() {
    return this.inner.target;
  }
  get evaluations() {
    return this.inner.evaluations;
  }

  async evaluate(coalitions: ReadonlyArray<ReadonlyArray<number>>): Promise<CoalitionValues> {
    const values = await this.inner.evaluate(coalitions);
    coalitions.forEach((c, k) => this.seen.set(maskOf(c), values.rewards[k]!));
    return values;
  }

  table(): Float64Array {
    return Float64Array.from({ length: 2 ** this.players }, (_, m) => this.seen.get(m)!);
  }
}

describe('the bundled SET-SUM ViT (4 players, one per digit), through the GPU model game', () => {
  const repo = fileURLToPath(new URL('../../../', import.meta.url));

  it('each index equals the references on the values the model gave; Shapley-Taylor is efficient; cost as planned', async () => {
    const prepared = prepareModel(readModelFiles(join(repo, 'models', 'setsum-vit')));
    const classifier = prepared.instantiate(await testEngine());
    const image = readInputFile(join(repo, 'examples', 'setsum', '000008.png'), prepared.info.inputShape, prepared.preprocessing);
    const games = await ModelGames.create(classifier, image);
    try {
      const game = new TableGame(games.games[0]!);
      expect(game.players).toBe(4);
      const runs: Array<[InteractionIndex, number]> = [['shapley-interaction', 4], ['shapley-taylor', 1], ['shapley-taylor', 2], ['shapley-taylor', 3], ['shapley-taylor', 4]];
      for (const [index, order] of runs) {
        const before = game.evaluations;
        const terms = await higherOrderInteractions(game, { index, order });
        expect(game.evaluations - before).toBe(higherOrderPlannedEvaluations(4, { index, order }));
        // The references read the very values the method read (float32 logits, float64 sums).
        const v = game.table();
        expect(v.every(Number.isFinite)).toBe(true);
        for (const t of terms) {
          expect(Math.abs(t.value - referenceByDividends(v, 4, index, order, t.players))).toBeLessThan(1e-9);
          if (index === 'shapley-interaction' || t.players.length === order) expect(Math.abs(t.value - referenceByOrders(v, 4, index, t.players))).toBeLessThan(1e-9);
        }
        if (index === 'shapley-taylor') expect(Math.abs(terms.reduce((s, t) => s + t.value, 0) - (v[15]! - v[0]!))).toBeLessThan(1e-9);
      }
      // The digits interact: the game is not additive, so the check above is not vacuous.
      const pairs = (await higherOrderInteractions(game, { index: 'shapley-interaction', order: 2 })).filter((t) => t.players.length === 2);
      expect(Math.max(...pairs.map((t) => Math.abs(t.value)))).toBeGreaterThan(0.1);
    } finally {
      games.release();
      classifier.destroy();
    }
  });
});
