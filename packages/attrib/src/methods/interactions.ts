import { allPlayers, complement, type CoalitionGame } from '../game.ts';

export interface InteractionResult {
  /** N x N, symmetric, zero diagonal. */
  interactions: number[][];
  /** The matching Shapley approximation (self or full context), from the same evaluations. */
  scores: number[];
}

function pairs(N: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) out.push([i, j]);
  return out;
}

async function pairwise(game: CoalitionGame, context: 'self' | 'full'): Promise<InteractionResult> {
  const N = game.players;
  const self = context === 'self';
  // Self context adds players to the empty set; full context removes them from the whole.
  const shown = (removed: number[]) => (self ? removed : complement(N, removed));
  const ps = pairs(N);
  const v = (await game.evaluate([shown([]), ...allPlayers(N).map((i) => shown([i])), ...ps.map(([i, j]) => shown([i, j]))])).rewards;
  const base = v[0]!;
  const single = (i: number) => v[1 + i]!;
  const interactions = allPlayers(N).map(() => new Array<number>(N).fill(0));
  ps.forEach(([i, j], k) => {
    // self: v({i,j}) - v({i}) - v({j}) + v({}); full: v(N) - v(N-i) - v(N-j) + v(N-{i,j}).
    const value = v[1 + N + k]! - single(i) - single(j) + base;
    interactions[i]![j] = value;
    interactions[j]![i] = value;
  });
  const scores = allPlayers(N).map((i) => (self ? single(i) - base : base - single(i)));
  return { interactions, scores };
}

/** I(i, j) = v({i, j}) - v({i}) - v({j}) + v({}). */
export function interactionSelf(game: CoalitionGame): Promise<InteractionResult> {
  return pairwise(game, 'self');
}

/** I(i, j) = v(N) - v(N - {i}) - v(N - {j}) + v(N - {i, j}). */
export function interactionFull(game: CoalitionGame): Promise<InteractionResult> {
  return pairwise(game, 'full');
}
