import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { batchSlice, prepareModel, type HostTensor } from '@moxi/kernels';
import { goldenInput, goldenModelFiles, resnetGoldenFolders, vitGoldenFolders } from '@moxi/kernels/testing';
import { ModelGames, type ModelGame } from '../src/model-game.ts';
import { moxi } from '../src/methods/moxi.ts';
import { runMethod } from '../src/methods/run-method.ts';
import { kernelShap } from '../src/methods/kernel-shap.ts';
import { lime, LIME_RIDGE_ALPHA } from '../src/methods/lime.ts';
import { referenceKernelShapFit, referenceRidge } from './reference-fits.ts';
import { testEngine } from './gpu.ts';

// MoXI and the Shapley family on real (random-weight) models against float64 PyTorch
// references (tools/fixtures/make_explain_goldens.py). The bound is 2e-3 on v;
// float32 logits are within ~1e-5 here.
const TOLERANCE = 2e-3;

interface Step {
  candidates: number[];
  values: number[];
  chosen: number;
  margin: number | null;
}

interface Golden {
  fixture: string;
  maskMode: 'token' | 'pixel';
  grid?: number;
  target: number;
  players: number;
  moxiInsertion: Step[];
  moxiDeletion: Step[];
  grid2: { exact: number[]; self: number[]; full: number[]; interactions: { self: number[][]; full: number[][] } };
  grid4: { self: number[]; full: number[] };
}

const games = ['vit-token', 'resnet-pixel'].map((name) => ({
  name,
  golden: JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8')) as Golden,
}));

function firstImage(golden: Golden): { model: ReturnType<typeof prepareModel>; image: HostTensor } {
  const [family, folderName] = golden.fixture.split('/');
  const folder = (family === 'vit' ? vitGoldenFolders() : resnetGoldenFolders()).find((f) => f.name === folderName)!;
  return { model: prepareModel(goldenModelFiles(folder)), image: batchSlice(goldenInput(folder, folder.cases[0]!), 0) };
}

async function gameFor(golden: Golden, grid?: number): Promise<ModelGame & { done(): void }> {
  const { model, image } = firstImage(golden);
  const classifier = model.instantiate(await testEngine());
  const games = await ModelGames.create(classifier, image, { maskMode: golden.maskMode, ...(grid !== undefined ? { grid } : golden.grid ? { grid: golden.grid } : {}) });
  return Object.assign(games.games[0]!, {
    done: () => {
      games.release();
      classifier.destroy();
    },
  });
}

describe.each(games)('$name', ({ golden }) => {
  it.each(['insertion', 'deletion'] as const)('MoXI %s picks the true best candidate at every step, rewards equal v', async (direction) => {
    const game = await gameFor(golden);
    expect(game.target).toBe(golden.target);
    const result = await moxi(game, { direction, stop: 'full' });
    const steps = direction === 'insertion' ? golden.moxiInsertion : golden.moxiDeletion;
    for (const [t, step] of steps.entries()) {
      const pick = result.order[t]!;
      const k = step.candidates.indexOf(pick);
      const best = direction === 'insertion' ? Math.max(...step.values) : Math.min(...step.values);
      // Our pick is the reference's best candidate up to the tolerance...
      expect(Math.abs(step.values[k]! - best)).toBeLessThan(TOLERANCE);
      // ...and the reward we report for it is the reference's v of that coalition.
      expect(Math.abs(result.rewards[t]! - step.values[k]!)).toBeLessThan(TOLERANCE);
    }
    // The closest call in these games is a 1.9e-4 margin, 20x float32's error here, so the
    // paths must not part.
    expect(result.order).toEqual(steps.map((s) => s.chosen));
    game.done();
  });

  it('on 4 players: exact (also by KernelSHAP and the interaction index), self and full Shapley values and both interactions equal the reference', async () => {
    const game = await gameFor(golden, 2);
    const g = golden.grid2;
    const run = async (method: Parameters<typeof runMethod>[0]) => runMethod(method, game, [2, 2]);
    const close = (got: number[], want: number[]) => {
      expect(got).toHaveLength(want.length);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(TOLERANCE));
    };
    close((await run('shapley-exact')).scores, g.exact);
    // KernelSHAP over every coalition, and the Shapley interaction index's order-1 terms, are the Shapley values.
    close((await run('kernel-shap')).scores, g.exact);
    close((await run('shapley-interaction')).scores, g.exact);
    close((await run('shapley-self')).scores, g.self);
    close((await run('shapley-full')).scores, g.full);
    const inSelf = await run('interaction-self');
    const inFull = await run('interaction-full');
    g.interactions.self.forEach((row, i) => close(inSelf.interactions![i]!, row));
    g.interactions.full.forEach((row, i) => close(inFull.interactions![i]!, row));
    game.done();
  });

  it('on 16 players: sampled KernelSHAP and LIME equal their reference fits of the same coalitions, whose values are the reference v', async () => {
    const game = await gameFor(golden);
    const shap = await kernelShap(game, { samples: 40, seed: 4 });
    const ridge = await lime(game, { samples: 60, seed: 4 });
    game.done();
    // The fits are float64 on the game's values; the reference solves them another way (1e-9).
    referenceKernelShapFit(16, shap.coalitions, shap.weights, shap.values, shap.empty, shap.full).forEach((p, i) => expect(Math.abs(shap.phi[i]! - p)).toBeLessThan(1e-9));
    referenceRidge(16, ridge.coalitions, ridge.weights, ridge.values, LIME_RIDGE_ALPHA).coefficients.forEach((c, i) => expect(Math.abs(ridge.scores[i]! - c)).toBeLessThan(1e-9));
    // ...and the values they fit are the model's: v(N) is PyTorch's (its full-context value
    // of a player plus v without that player, both in the golden file).
    const first = golden.moxiDeletion[0]!;
    expect(Math.abs(shap.full - (golden.grid4.full[first.candidates[0]!]! + first.values[0]!))).toBeLessThan(TOLERANCE);
  });

  it('on 16 players: self and full context equal the reference', async () => {
    const game = await gameFor(golden);
    const self = await runMethod('shapley-self', game, [4, 4]);
    const full = await runMethod('shapley-full', game, [4, 4]);
    expect(self.scores).toHaveLength(16);
    expect(full.scores).toHaveLength(16);
    self.scores.forEach((v, i) => expect(Math.abs(v - golden.grid4.self[i]!)).toBeLessThan(TOLERANCE));
    full.scores.forEach((v, i) => expect(Math.abs(v - golden.grid4.full[i]!)).toBeLessThan(TOLERANCE));
    expect(self.evaluations).toBe(17);
    game.done();
  });
});

describe('ModelGames batches many images', () => {
  it('gives each image the result it gets alone, in fewer forward passes', async () => {
    const folder = vitGoldenFolders().find((f) => f.name === 'small-timm')!;
    const images = goldenInput(folder, folder.cases[0]!);
    const classifier = prepareModel(goldenModelFiles(folder)).instantiate(await testEngine());
    const together = await ModelGames.create(classifier, images);
    const forward = classifier.forward.bind(classifier);
    let passes = 0;
    classifier.forward = (...args) => {
      passes += 1;
      return forward(...args);
    };
    const batched = await together.runAll((game) => moxi(game, { direction: 'insertion', stop: 'full' }));
    // 16 greedy steps, both images' candidates in each pass.
    expect(passes).toBe(16);
    together.release();
    for (let i = 0; i < 2; i++) {
      const alone = await ModelGames.create(classifier, batchSlice(images, i));
      const single = await moxi(alone.games[0]!, { direction: 'insertion', stop: 'full' });
      alone.release();
      expect(batched[i]!.order).toEqual(single.order);
      expect(batched[i]!.rewards).toHaveLength(16);
      batched[i]!.rewards.forEach((r, t) => expect(Math.abs(r - single.rewards[t]!)).toBeLessThan(1e-5));
      expect(together.games[i]!.evaluations).toBe(136);
    }
    classifier.destroy();
  });

  it('memoizing games evaluate each coalition once and give the same results', async () => {
    const folder = vitGoldenFolders().find((f) => f.name === 'small-timm')!;
    const images = goldenInput(folder, folder.cases[0]!);
    const classifier = prepareModel(goldenModelFiles(folder)).instantiate(await testEngine());
    const methods = ['moxi-insertion', 'moxi-deletion', 'shapley-self', 'shapley-full', 'shapley-sampling'] as const;
    const runAllMethods = async (memoize: boolean) => {
      const games = await ModelGames.create(classifier, images, { grid: 2, memoize });
      const results = [];
      for (const method of methods) results.push(await games.runAll((game) => runMethod(method, game, [2, 2], { stop: 'full', samples: 8 })));
      const evaluations = games.games.map((g) => g.evaluations);
      games.release();
      return { results, evaluations };
    };
    const plain = await runAllMethods(false);
    const memoized = await runAllMethods(true);
    // 4 players: 16 coalitions, fewer than the methods ask for together.
    expect(memoized.evaluations).toHaveLength(2);
    memoized.evaluations.forEach((e, i) => {
      expect(e).toBeLessThanOrEqual(16);
      expect(plain.evaluations[i]!).toBeGreaterThan(40);
    });
    expect(plain.results.map((r) => r.length)).toEqual([2, 2, 2, 2, 2]);
    methods.forEach((_, m) =>
      plain.results[m]!.forEach((a, i) => {
        const b = memoized.results[m]![i]!;
        expect(b.order).toEqual(a.order);
        expect(a.scores).toHaveLength(4);
        a.scores.forEach((v, p) => expect(Math.abs(v - b.scores[p]!)).toBeLessThan(1e-5));
      }),
    );
    classifier.destroy();
  });
});
