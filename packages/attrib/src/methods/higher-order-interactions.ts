import { OptionError } from '@moxi/kernels';
import { EXPLAIN_OPTIONS, type ExplainOptionName } from '../explain-options.ts';
import { allPlayers, type CoalitionGame } from '../game.ts';
import { SeededRandom } from '../random.ts';
import type { PlannedCall } from './run-method.ts';
import { chunkedCalls, evaluateInChunks } from './shapley.ts';

/**
 * Interactions of groups of players beyond pairs (docs/methods.md, "Higher-order
 * interactions"). With delta_S v(T) = sum_{W subset of S} (-1)^{|S| - |W|} v(T + W), the
 * discrete derivative of v along S at T (S and T disjoint):
 *
 * - 'shapley-interaction', the Shapley interaction index (Grabisch and Roubens 1999):
 *     I(S) = sum_{T subset of N - S} (n - |T| - |S|)! |T|! / (n - |S| + 1)! delta_S v(T);
 *   on single players it is the Shapley value.
 * - 'shapley-taylor', the Shapley-Taylor interaction index of order k (Sundararajan,
 *   Dhamdhere and Agarwal 2020):
 *     I(S) = delta_S v({}) (the Harsanyi dividend of S)           for |S| < k,
 *     I(S) = (k / n) sum_{T subset of N - S} delta_S v(T) / C(n - 1, |T|)   for |S| = k;
 *   the terms of sizes 1..k add up to v(N) - v({}) (efficiency).
 */
export const INTERACTION_INDICES = ['shapley-interaction', 'shapley-taylor'] as const;
export type InteractionIndex = (typeof INTERACTION_INDICES)[number];

/** Orders above this are refused: 2^k evaluations per sampled term, and C(n, k) terms. */
export const MAX_INTERACTION_ORDER = EXPLAIN_OPTIONS.order.max!;

/** Exact indices read all 2^n coalitions: 4,096 at 12 players, one evaluate() call. */
export const MAX_EXACT_INTERACTION_PLAYERS = 12;

export interface HigherOrderOptions {
  index: InteractionIndex;
  /** k: the largest group size reported (Shapley-Taylor: also the order of the index). */
  order: number;
}

export interface SampledHigherOrderOptions extends HigherOrderOptions {
  /** Draws of T per estimated term. */
  samples: number;
  seed?: number;
  /** The groups to estimate, each of 1..order distinct players. */
  subsets?: ReadonlyArray<ReadonlyArray<number>>;
  /** Instead of `subsets`: every group of 2..order of these players. */
  candidates?: ReadonlyArray<number>;
}

export interface InteractionTerm {
  /** The group S, ascending. */
  players: number[];
  value: number;
}

export interface SampledInteractionTerm extends InteractionTerm {
  /** Standard error of `value` (sample standard deviation / sqrt(draws)); 0 when computed exactly. */
  standardError: number;
  /** Draws of T behind `value`: 0 for a Shapley-Taylor term below the order (a dividend, exact). */
  draws: number;
}

/**
 * Every group of 1..k players with its index, from all 2^n coalitions evaluated once
 * (EXACT_BATCH per call: one call up to 12 players). Groups by size, then lexicographic.
 */
export async function higherOrderInteractions(game: CoalitionGame, options: HigherOrderOptions): Promise<InteractionTerm[]> {
  const n = game.players;
  checkIndexAndOrder(options);
  checkExactPlayers(n);
  const masks = Array.from({ length: 2 ** n }, (_, m) => m);
  const v = Float64Array.from(await evaluateInChunks(game, masks.map((m) => playersOfMask(m, n))));
  return interactionsFromTable(v, n, options);
}

/**
 * The exact indices from a table of v over all 2^n coalitions (v[mask], player i in bit i),
 * for callers that already hold one. The defining sums, in float64.
 */
export function interactionsFromTable(v: ArrayLike<number>, n: number, options: HigherOrderOptions): InteractionTerm[] {
  checkIndexAndOrder(options);
  if (v.length !== 2 ** n) throw new RangeError(`a table of ${v.length} values is not one per coalition of ${n} players`);
  const k = options.order;
  const factorial = [1];
  for (let j = 1; j <= n + 1; j++) factorial.push(factorial[j - 1]! * j);
  const terms: InteractionTerm[] = [];
  for (const S of groupsUpTo(allPlayers(n), 1, Math.min(k, n))) {
    const s = S.length;
    const sMask = maskOf(S);
    const rest = (2 ** n - 1) ^ sMask;
    let value = 0;
    if (options.index === 'shapley-taylor' && s < k) {
      value = derivative(v, sMask, 0);
    } else {
      // SII weighs T by the chance that T is exactly what precedes S when S is merged into
      // one player and the n - s + 1 resulting players come in a uniform order; Shapley-Taylor
      // by the chance that T is what precedes the first member of S in a uniform order of all n.
      const weight =
        options.index === 'shapley-interaction'
          ? (t: number) => (factorial[n - t - s]! * factorial[t]!) / factorial[n - s + 1]!
          : (t: number) => k / n / binomial(n - 1, t);
      forEachSubmask(rest, (T) => (value += weight(popcount(T)) * derivative(v, sMask, T)));
    }
    terms.push({ players: S, value });
  }
  return terms;
}

/**
 * Monte Carlo estimates for games too large for the exact sums. Each estimated term is the
 * mean of delta_S v(T) over `samples` draws of T from N - S, drawn (seeded) with exactly the
 * weights of the definition, so every estimate is unbiased:
 * - SII: the weights of one size t sum to C(n - s, t) t! (n - s - t)! / (n - s + 1)! =
 *   1 / (n - s + 1), the same for every t = 0..n - s: a uniform size, then a uniform T of it.
 * - Shapley-Taylor, |S| = k: size t with probability (k / n) C(n - k, t) / C(n - 1, t), the
 *   law of how many players precede S's first member in a uniform order, then a uniform T of
 *   that size. Uniform only for k = 1; for k >= 2 small T are likelier (n = 4, k = 2: 1/2,
 *   1/3, 1/6).
 * - Shapley-Taylor, |S| < k: the dividend delta_S v({}), computed exactly (2^|S| coalitions).
 * Every coalition of every term is sent in one list, EXACT_BATCH per evaluate() call.
 */
export async function sampledHigherOrderInteractions(game: CoalitionGame, options: SampledHigherOrderOptions): Promise<SampledInteractionTerm[]> {
  const n = game.players;
  const groups = sampledGroups(n, options);
  const random = new SeededRandom(options.seed ?? 0);
  const coalitions: number[][] = [];
  const plans = groups.map((S) => {
    const draws = drawsFor(S.length, options);
    const others = allPlayers(n).filter((p) => !S.includes(p));
    const sizeOf = options.index === 'shapley-interaction' ? () => Math.floor(random.next() * (others.length + 1)) : taylorSizeSampler(n, S.length, random);
    const first = coalitions.length;
    for (let d = 0; d < Math.max(draws, 1); d++) {
      const T = draws === 0 ? [] : random.subset(others, sizeOf());
      for (let w = 0; w < 2 ** S.length; w++) coalitions.push([...T, ...S.filter((_, j) => (w >> j) & 1)]);
    }
    return { S, draws, first };
  });
  const v = await evaluateInChunks(game, coalitions);
  return plans.map(({ S, draws, first }) => {
    const s = S.length;
    const derivatives = Array.from({ length: Math.max(draws, 1) }, (_, d) => {
      let sum = 0;
      for (let w = 0; w < 2 ** s; w++) sum += ((s - popcount(w)) % 2 === 0 ? 1 : -1) * v[first + d * 2 ** s + w]!;
      return sum;
    });
    const mean = derivatives.reduce((a, b) => a + b, 0) / derivatives.length;
    const variance = draws > 1 ? derivatives.reduce((a, x) => a + (x - mean) ** 2, 0) / (draws - 1) : 0;
    return { players: S, value: mean, standardError: draws > 1 ? Math.sqrt(variance / draws) : 0, draws };
  });
}

/** Coalitions the exact or (with `samples`) sampled indices evaluate on n players. */
export function higherOrderPlannedEvaluations(players: number, options: HigherOrderOptions | SampledHigherOrderOptions): number {
  return higherOrderPlannedCalls(players, options).reduce((sum, c) => sum + c.rows, 0);
}

/**
 * The evaluate() calls of the exact or (with `samples`) sampled indices on n players, in
 * order. Exact: 2^n coalitions in chunks, the first holding the full one. Sampled: each
 * term's coalitions in chunks; the row counts are exact, `largest` is n, an upper bound,
 * since a draw may take every other player (it is exact when no term is sampled).
 */
export function higherOrderPlannedCalls(players: number, options: HigherOrderOptions | SampledHigherOrderOptions): PlannedCall[] {
  checkIndexAndOrder(options);
  if (!('samples' in options)) {
    checkExactPlayers(players);
    return chunkedCalls(2 ** players, players);
  }
  const groups = sampledGroups(players, options);
  const draws = groups.map((S) => drawsFor(S.length, options));
  const rows = groups.reduce((sum, S, g) => sum + Math.max(draws[g]!, 1) * 2 ** S.length, 0);
  const largest = draws.some((d) => d > 0) ? players : Math.max(0, ...groups.map((S) => S.length));
  return chunkedCalls(rows, largest);
}

/** Draws of T for a group of s players: none for a Shapley-Taylor dividend below the order. */
function drawsFor(s: number, options: SampledHigherOrderOptions): number {
  return options.index === 'shapley-taylor' && s < options.order ? 0 : options.samples;
}

/** Size of T for a Shapley-Taylor term of order k: P(t) = (k / n) C(n - k, t) / C(n - 1, t), t = 0..n - k. */
function taylorSizeSampler(n: number, k: number, random: SeededRandom): () => number {
  const probability: number[] = [];
  // C(n - k, t) / C(n - 1, t) as a running product: finite for any n.
  let ratio = 1;
  for (let t = 0; t <= n - k; t++) {
    probability.push((k / n) * ratio);
    ratio *= (n - k - t) / (n - 1 - t);
  }
  return () => {
    let u = random.next();
    for (let t = 0; t < probability.length - 1; t++) {
      u -= probability[t]!;
      if (u < 0) return t;
    }
    return probability.length - 1;
  };
}

function sampledGroups(n: number, options: SampledHigherOrderOptions): number[][] {
  checkIndexAndOrder(options);
  if (!Number.isInteger(options.samples) || options.samples < 1) {
    throw new OptionError<ExplainOptionName>('samples', `sampled interactions need a whole number of samples from 1, got ${options.samples}`);
  }
  if ((options.subsets === undefined) === (options.candidates === undefined)) {
    throw new OptionError<'subsets'>('subsets', 'give either the groups to estimate ({subsets}) or the players whose groups to estimate ({candidates}), not both or neither');
  }
  const valid = (p: number) => Number.isInteger(p) && p >= 0 && p < n;
  if (options.candidates !== undefined) {
    const candidates = [...new Set(options.candidates)].sort((a, b) => a - b);
    if (!candidates.every(valid)) throw new OptionError<'candidates'>('candidates', `players are 0..${n - 1}, got ${options.candidates.join(', ')}`);
    return groupsUpTo(candidates, 2, options.order);
  }
  return options.subsets!.map((group) => {
    const S = [...group].sort((a, b) => a - b);
    if (S.length < 1 || S.length > options.order || !S.every(valid) || new Set(S).size !== S.length) {
      throw new OptionError<'subsets'>('subsets', `each group needs 1..${options.order} (the order) distinct players of 0..${n - 1}, got [${group.join(', ')}]`);
    }
    return S;
  });
}

function checkIndexAndOrder(options: HigherOrderOptions): void {
  if (!INTERACTION_INDICES.includes(options.index)) {
    throw new OptionError<'index'>('index', `unknown interaction index ${String(options.index)}; choose ${INTERACTION_INDICES.join(' or ')}`);
  }
  if (!Number.isInteger(options.order) || options.order < 1 || options.order > MAX_INTERACTION_ORDER) {
    throw new OptionError<'order'>('order', `the interaction order must be a whole number from 1 to ${MAX_INTERACTION_ORDER}, got ${options.order}`);
  }
}

function checkExactPlayers(n: number): void {
  if (n > MAX_EXACT_INTERACTION_PLAYERS) {
    throw new OptionError<ExplainOptionName>(
      'grid',
      `exact higher-order interactions read all 2^n coalitions, up to ${MAX_EXACT_INTERACTION_PLAYERS} players; this {grid} gives ${n}: use a coarser grid or estimate chosen groups with {samples}`,
    );
  }
}

/** Groups of `from` (ascending) of sizes lo..hi: by size, then lexicographic. */
function groupsUpTo(from: readonly number[], lo: number, hi: number): number[][] {
  const out: number[][] = [];
  const extend = (prefix: number[], start: number, size: number) => {
    if (prefix.length === size) return void out.push(prefix);
    for (let j = start; j < from.length; j++) extend([...prefix, from[j]!], j + 1, size);
  };
  for (let size = lo; size <= Math.min(hi, from.length); size++) extend([], 0, size);
  return out;
}

/** delta_S v(T) from a table indexed by coalition mask; S and T disjoint masks. */
function derivative(v: ArrayLike<number>, sMask: number, T: number): number {
  const s = popcount(sMask);
  let sum = 0;
  forEachSubmask(sMask, (W) => (sum += ((s - popcount(W)) % 2 === 0 ? 1 : -1) * v[T | W]!));
  return sum;
}

function forEachSubmask(mask: number, visit: (sub: number) => void): void {
  for (let sub = mask; ; sub = (sub - 1) & mask) {
    visit(sub);
    if (sub === 0) return;
  }
}

function popcount(m: number): number {
  let c = 0;
  for (; m; m &= m - 1) c++;
  return c;
}

function maskOf(players: readonly number[]): number {
  return players.reduce((m, p) => m | (1 << p), 0);
}

function playersOfMask(m: number, n: number): number[] {
  return allPlayers(n).filter((i) => (m >> i) & 1);
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let j = 1; j <= k; j++) c = (c * (n - k + j)) / j;
  return c;
}
