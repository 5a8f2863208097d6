import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allPlayers } from '../src/game.ts';
import { risePixelsFromDraws, risePlayerCoalition, risePlayers, riseDraws, type RiseDraw } from '../src/methods/rise.ts';
import { plannedCalls, plannedEvaluations, runMethod, runModelMethod } from '../src/methods/run-method.ts';
import { AnalyticGame } from './analytic-game.ts';
import { loadGoldenModel } from './golden-model.ts';

// RISE against PyTorch (tools/fixtures/make_rise_goldens.py): the same 24 masks, drawn and
// upsampled there by torch's bilinear interpolate, on the ViT and ResNet fixtures in float64.
const golden = JSON.parse(readFileSync(new URL('fixtures/rise.json', import.meta.url), 'utf8'));

const load = (fixture: string) => loadGoldenModel(fixture);

describe.each(['vit', 'resnet'] as const)('rise (pixel masks) on the %s fixture', (key) => {
  const g = golden[key];
  it('equals PyTorch given the same masks: every pixel of the saliency and each cell mean', async () => {
    const { model, image } = await load(g.fixture);
    const result = await risePixelsFromDraws(model, image, g.target, g.grid, g.draws as RiseDraw[], g.cells, g.probability);
    model.destroy();
    expect(result.passes).toBe(g.draws.length);
    // Measured on lavapipe: 1.5e-8 (ViT) and 8.4e-8 (ResNet) at most, on saliencies up to
    // 0.36; held to 1e-6. Every mask shifted by one pixel row moves them by 5e-3 and 8e-3.
    const worst = (got: ArrayLike<number>, want: number[]) => Math.max(...want.map((w, i) => Math.abs(got[i]! - w)));
    expect(worst(result.pixels, g.pixels)).toBeLessThan(1e-6);
    expect(worst(result.scores, g.scores)).toBeLessThan(1e-6);
  });
});

describe('rise (pixel masks) draws and costs', () => {
  it('is seeded: the same seed gives the same map, another seed another; passes = masks, as planned', async () => {
    const { model, image } = await load('vit/small-timm');
    const run = (seed: number) => runModelMethod('rise', model, image, 3, { grid: [4, 4], samples: 40, seed });
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    model.destroy();
    expect(a.scores).toEqual(b.scores);
    expect(a.scores).not.toEqual(c.scores);
    expect(a.evaluations).toBe(40);
  });

  it('draws each cell with probability p and shifts within a cell', () => {
    const draws = riseDraws(4000, 7, 0.3, [5, 5], 9);
    const kept = draws.reduce((n, d) => n + d.bits.reduce((a, b) => a + b, 0), 0) / (4000 * 49);
    // 196,000 Bernoulli(0.3) draws: standard error 0.001.
    expect(Math.abs(kept - 0.3)).toBeLessThan(0.005);
    expect(new Set(draws.map((d) => d.shiftY))).toEqual(new Set([0, 1, 2, 3, 4]));
  });
});

/** The nearest of the s cells to a player's centre, found by distance (another way than the method's formula). */
function referenceCoalition(draw: RiseDraw, cells: number, [gh, gw]: [number, number]): number[] {
  const nearestCell = (at: number, shift: number, side: number) => {
    const up = (cells + 1) * Math.ceil(side / cells);
    // Centre of the output position in cell units (half-pixel centres), compared with each cell's centre.
    const x = ((at + shift + 0.5) * cells) / up;
    let best = 0;
    // A centre on a boundary belongs to the upper cell (spans are [k, k + 1)).
    for (let k = 1; k < cells; k++) if (Math.abs(x - (k + 0.5)) <= Math.abs(x - (best + 0.5))) best = k;
    return best;
  };
  return allPlayers(gh * gw).filter((p) => draw.bits[nearestCell(Math.floor(p / gw), draw.shiftY, gh) * cells + nearestCell(p % gw, draw.shiftX, gw)] === 1);
}

describe('rise-players (masks over the game players)', () => {
  const probability = (s: Set<number>) => 0.1 + 0.05 * [...s].reduce((a, i) => a + (i % 5), 0) / 4;
  const game = () => new AnalyticGame(36, () => 0, () => 0, probability);

  it('equals sum_i P_i M_i / (masks p) over the same masks, each player taking its nearest cell', async () => {
    const options = { masks: 300, cells: 4, probability: 0.4, seed: 5 };
    const scores = await risePlayers(game(), [6, 6], options);
    const draws = riseDraws(300, 4, 0.4, [2, 2], 5);
    const want = new Float64Array(36);
    for (const d of draws) {
      const kept = referenceCoalition(d, 4, [6, 6]);
      for (const p of kept) want[p]! += probability(new Set(kept)) / (300 * 0.4);
    }
    scores.forEach((v, p) => expect(Math.abs(v - want[p]!)).toBeLessThan(1e-12));
    draws.forEach((d) => expect(risePlayerCoalition(d, 4, [6, 6])).toEqual(referenceCoalition(d, 4, [6, 6])));
  });

  it('recovers an additive probability: E[P M_j] / p = a_j + p (sum a - a_j) with one cell per player', async () => {
    const a = [0.3, 0.1, 0.05, 0.2];
    const additive = new AnalyticGame(4, () => 0, () => 0, (s) => a.reduce((t, ai, i) => t + (s.has(i) ? ai : 0), 0));
    const scores = await risePlayers(additive, [2, 2], { masks: 20000, cells: 2, probability: 0.5, seed: 3 });
    const total = a.reduce((x, y) => x + y, 0);
    // 20,000 masks: each estimate's standard error is below 0.003.
    scores.forEach((v, j) => expect(Math.abs(v - (a[j]! + 0.5 * (total - a[j]!)))).toBeLessThan(0.012));
  });

  it('evaluates exactly the planned coalitions, through runMethod', async () => {
    const g = game();
    const a = await runMethod('rise-players', g, [6, 6], { samples: 5000, riseCells: 3 });
    expect(a.evaluations).toBe(5000);
    expect(plannedEvaluations('rise-players', 36, { samples: 5000 })).toBe(5000);
    expect(plannedCalls('rise-players', 36, { samples: 5000 }).map((c) => c.rows)).toEqual([4096, 904]);
    expect(plannedEvaluations('rise-players', 36)).toBe(4000);
  });

  it('refuses a keep probability of 0 (RISE divides by it)', async () => {
    await expect(risePlayers(game(), [6, 6], { probability: 0 })).rejects.toThrow(/above 0/);
  });
});
