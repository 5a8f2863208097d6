import type { SHAPLEY_SAMPLERS } from '../explain-options.ts';
import { allPlayers, type CoalitionGame } from '../game.ts';
import { SeededRandom } from '../random.ts';

export type ShapleySampler = (typeof SHAPLEY_SAMPLERS)[number];

/**
 * Permutation sampling (Castro et al. 2009) with antithetic pairs: each permutation is
 * followed by its reverse, which cancels much of the variance of the marginal terms.
 * A player's estimate is the mean of v(prefix + i) - v(prefix) over the permutations.
 * Prefixes of equal length are evaluated together across permutations; the empty and
 * the full coalition once. `samples` counts permutations.
 */
export async function shapleyPermutationSampling(game: CoalitionGame, samples: number, seed: number): Promise<number[]> {
  const N = game.players;
  const random = new SeededRandom(seed);
  const permutations: number[][] = [];
  while (permutations.length < samples) {
    const p = random.permutation(N);
    permutations.push(p);
    if (permutations.length < samples) permutations.push([...p].reverse());
  }
  // value[L][k] = v(first L players of permutation k)
  const value: Float64Array[] = [];
  const ends = await game.evaluate([[], allPlayers(N)]);
  for (let L = 0; L <= N; L++) {
    if (L === 0 || L === N) {
      value.push(new Float64Array(samples).fill(ends.rewards[L === 0 ? 0 : 1]!));
    } else {
      value.push((await game.evaluate(permutations.map((p) => p.slice(0, L)))).rewards);
    }
  }
  const phi = new Array<number>(N).fill(0);
  permutations.forEach((p, k) => {
    for (let L = 0; L < N; L++) phi[p[L]!]! += (value[L + 1]![k]! - value[L]![k]!) / samples;
  });
  return phi;
}

/**
 * The official MoXI code's estimator (the paper's "Shapley value" baseline): each of
 * `samples` iterations draws one coalition size s = floor((N - 1) r), shared by all
 * players; for each player i a uniform S of that size from N - {i}; the estimate is the
 * mean of v(S + i) - v(S). 2N evaluations per iteration.
 */
export async function shapleySharedSizeSampling(game: CoalitionGame, samples: number, seed: number): Promise<number[]> {
  const N = game.players;
  const random = new SeededRandom(seed);
  const phi = new Array<number>(N).fill(0);
  for (let t = 0; t < samples; t++) {
    const s = Math.floor((N - 1) * random.next());
    const coalitions: number[][] = [];
    for (let i = 0; i < N; i++) {
      const S = random.subset(allPlayers(N).filter((p) => p !== i), s);
      coalitions.push([...S, i], S);
    }
    const v = (await game.evaluate(coalitions)).rewards;
    for (let i = 0; i < N; i++) phi[i]! += (v[2 * i]! - v[2 * i + 1]!) / samples;
  }
  return phi;
}
