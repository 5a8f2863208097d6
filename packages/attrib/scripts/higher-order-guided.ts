// Measurement, not part of the suite (docs/methods.md, "Higher-order interactions"): how far
// MoXI's insertion order is from a greedy guided by interaction terms truncated at order k.
//
// MoXI picks argmax_i v(S + i), and v(S + i) - v(S) = sum_{U subset of S} m(U + i) with m the
// Harsanyi dividends. The truncated greedy keeps only the U of fewer than k players, so it
// needs v on coalitions of at most k players only (the dividends up to size k), never the
// large coalitions MoXI evaluates late in its search. For games of at most 12 players a
// third variant replaces the last kept size by the Shapley-Taylor terms of order k, which
// also carry (shares of) the dividends above k.
//
// Run from packages/attrib (bundled by esbuild, .wgsl as text; webgpu resolved from here):
//   pnpm exec esbuild scripts/higher-order-guided.ts --bundle --platform=node --format=esm \
//     --loader:.wgsl=text --external:webgpu --log-level=warning | node --input-type=module
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readInputFile } from '@moxi/kernels/node';
import { stackBatch } from '@moxi/kernels';
import { curveArea, patchCurvesOfOrders } from '../src/eval/curves.ts';
import type { CoalitionGame } from '../src/game.ts';
import { loadModel } from '../src/loaded-model.ts';
import { interactionsFromTable, MAX_EXACT_INTERACTION_PLAYERS } from '../src/methods/higher-order-interactions.ts';
import { moxi } from '../src/methods/moxi.ts';
import { ModelGames } from '../src/model-game.ts';

const repo = resolve(process.cwd(), '..', '..');
const imageFolder = join(repo, 'examples', 'setsum');
const imageFiles = readdirSync(imageFolder).filter((f) => f.endsWith('.png')).sort();

const SETTINGS = [
  { model: 'setsum-vit', grid: undefined },
  { model: 'setsum-vit-patch7', grid: 2 },
  { model: 'setsum-vit-patch7', grid: 4 },
];

interface Variant {
  name: string;
  order: number[];
  /** Coalitions this guidance needs besides the curves (MoXI: its own search). */
  evaluations: number;
}

/** Every group of 1..k players (ascending lists), smallest first: what the truncated gains need. */
function groupsUpTo(n: number, k: number): number[][] {
  const out: number[][] = [[]];
  for (let size = 1; size <= k; size++) {
    const extend = (prefix: number[], start: number) => {
      if (prefix.length === size) return void out.push(prefix);
      for (let j = start; j < n; j++) extend([...prefix, j], j + 1);
    };
    extend([], 0);
  }
  return out;
}

/** Greedy insertion by an estimated gain of adding i to S; ties to the lowest index, as MoXI. */
function greedy(n: number, gain: (i: number, chosen: number[]) => number): number[] {
  const order: number[] = [];
  while (order.length < n) {
    let best = -1;
    let bestGain = -Infinity;
    for (let i = 0; i < n; i++) {
      if (order.includes(i)) continue;
      const g = gain(i, order);
      if (g > bestGain) [best, bestGain] = [i, g];
    }
    order.push(best);
  }
  return order;
}

/** Subsets of `from` with fewer than `limit` players. */
function smallSubsets(from: number[], limit: number): number[][] {
  const out: number[][] = [];
  const extend = (prefix: number[], start: number) => {
    out.push(prefix);
    if (prefix.length + 1 >= limit) return;
    for (let j = start; j < from.length; j++) extend([...prefix, from[j]!], j + 1);
  };
  extend([], 0);
  return out;
}

async function compare(game: CoalitionGame): Promise<{ variants: Variant[]; auc: number[] }> {
  const n = game.players;
  const key = (g: readonly number[]) => [...g].sort((a, b) => a - b).join(',');
  const before = game.evaluations;
  const moxiOrder = (await moxi(game, { direction: 'insertion', stop: 'full' })).order;
  const moxiCost = game.evaluations - before;

  // Dividends of every group of at most 3 players, by inclusion-exclusion over its subsets.
  const groups = groupsUpTo(n, 3);
  const values = (await game.evaluate(groups)).rewards;
  const v = new Map(groups.map((g, k) => [key(g), values[k]!]));
  const dividend = new Map<string, number>();
  for (const g of groups) {
    let m = 0;
    for (let w = 0; w < 2 ** g.length; w++) {
      const W = g.filter((_, j) => (w >> j) & 1);
      m += ((g.length - W.length) % 2 === 0 ? 1 : -1) * v.get(key(W))!;
    }
    dividend.set(key(g), m);
  }
  const cost = (k: number) => groups.filter((g) => g.length <= k).length;
  const truncated = (k: number) => (i: number, S: number[]) => smallSubsets(S, k).reduce((sum, U) => sum + dividend.get(key([...U, i]))!, 0);
  const variants: Variant[] = [
    { name: 'MoXI (exact v(S + i))', order: moxiOrder, evaluations: moxiCost },
    { name: 'dividends, order 2', order: greedy(n, truncated(2)), evaluations: cost(2) },
    { name: 'dividends, order 3', order: greedy(n, truncated(3)), evaluations: cost(3) },
  ];

  if (n <= MAX_EXACT_INTERACTION_PLAYERS) {
    const masks = Array.from({ length: 2 ** n }, (_, m) => Array.from({ length: n }, (_, i) => i).filter((i) => (m >> i) & 1));
    const table = (await game.evaluate(masks)).rewards;
    for (const k of [2, 3]) {
      const taylor = new Map(interactionsFromTable(table, n, { index: 'shapley-taylor', order: k }).map((t) => [key(t.players), t.value]));
      // Below the order the Shapley-Taylor terms are the dividends; at the order they absorb the higher ones.
      const gain = (i: number, S: number[]) => smallSubsets(S, k).reduce((sum, U) => sum + taylor.get(key([...U, i]))!, 0);
      variants.push({ name: `Shapley-Taylor, order ${k}`, order: greedy(n, gain), evaluations: 2 ** n });
    }
  }
  const curves = await patchCurvesOfOrders(game, variants.map((x) => ({ insertionOrder: x.order, deletionOrder: x.order })));
  return { variants, auc: curves.map((c) => curveArea(c.insertion.targetProbability)) };
}

const lines: string[] = [];
for (const setting of SETTINGS) {
  const loaded = await loadModel(join(repo, 'models', setting.model));
  const { inputShape } = loaded.prepared.info;
  const images = stackBatch(imageFiles.map((f) => readInputFile(join(imageFolder, f), inputShape, loaded.prepared.preprocessing)));
  const games = await ModelGames.create(loaded.model, images, setting.grid === undefined ? {} : { grid: setting.grid });
  const started = performance.now();
  const results = await games.runAll(compare);
  const seconds = (performance.now() - started) / 1000;
  const n = games.players;
  lines.push(`\n${setting.model}${setting.grid === undefined ? '' : ` --grid ${setting.grid}`}: ${n} players, ${results.length} images (${seconds.toFixed(0)} s)`);
  lines.push('| guidance | orders unlike MoXI | first differing step (mean) | insertion AUC (mean) | AUC - MoXI (mean, min, max) | evaluations per image |');
  lines.push('|---|---|---|---|---|---|');
  results[0]!.variants.forEach((variant, k) => {
    const differs = results.filter((r) => r.variants[k]!.order.join() !== r.variants[0]!.order.join());
    const firstStep = differs.map((r) => r.variants[k]!.order.findIndex((p, j) => p !== r.variants[0]!.order[j]) + 1);
    const delta = results.map((r) => r.auc[k]! - r.auc[0]!);
    const mean = (xs: number[]) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
    lines.push(
      `| ${variant.name} | ${differs.length}/${results.length} | ${differs.length ? mean(firstStep).toFixed(1) : '-'} | ${mean(results.map((r) => r.auc[k]!)).toFixed(4)} | ` +
        `${mean(delta).toFixed(4)}, ${Math.min(...delta).toFixed(4)}, ${Math.max(...delta).toFixed(4)} | ${variant.evaluations} |`,
    );
  });
  games.release();
  loaded.destroy();
}
process.stdout.write(lines.join('\n') + '\n');
process.exit(0);
