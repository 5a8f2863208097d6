import { describe, expect, it } from 'vitest';
import { batchSlice, prepareModel } from '@moxi/kernels';
import { goldenInput, goldenModelFiles, vitGoldenFolders } from '@moxi/kernels/testing';
import { explainImages, ExplainRefusal, type ExplainPlan, type Explanation } from '../src/explain.ts';
import { moxiSteps } from '../src/moxi-steps.ts';
import { ModelGames } from '../src/model-game.ts';
import { runMethod } from '../src/methods/run-method.ts';
import { testEngine } from './gpu.ts';

// The use case every front-end calls, on the small random-weight ViT fixture (4x4 tokens)
// and its two golden input images.
async function fixture() {
  const folder = vitGoldenFolders().find((f) => f.name === 'small-timm')!;
  const batch = goldenInput(folder, folder.cases[0]!);
  const model = prepareModel(goldenModelFiles(folder)).instantiate(await testEngine());
  return { model, images: [batchSlice(batch, 0), batchSlice(batch, 1)] };
}

describe('explainImages', () => {
  it('plans, reports progress, and gives each image what runMethod gives it alone', async () => {
    const { model, images } = await fixture();
    const plans: ExplainPlan[] = [];
    const progress: number[] = [];
    const spec = { method: 'moxi-deletion' as const, game: {}, options: { stop: 'full' as const } };
    const results = await explainImages(model, images, spec, { onPlan: (p) => plans.push(p), onProgress: (n) => progress.push(n) });
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ method: 'moxi-deletion', images: 2, grid: [4, 4], evaluations: 136, mayStopEarly: false });
    expect(plans[0]!.flops).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(2 * 136);
    for (const [k, image] of images.entries()) {
      const games = await ModelGames.create(model, image);
      const alone = await runMethod('moxi-deletion', games.games[0]!, games.playerGrid.grid, { stop: 'full' });
      games.release();
      expect(results[k]!.attribution.order).toEqual(alone.order);
      expect(results[k]!.planned).toEqual({ evaluations: 136, gflop: plans[0]!.flops / 1e9 });
    }
    model.destroy();
  });

  it('refuses in its own terms: a plan over the budget, a contrast with the prediction itself', async () => {
    const { model, images } = await fixture();
    const overBudget = explainImages(model, images, { method: 'shapley-exact', game: {}, options: { maxEvaluations: 1000 } });
    await expect(overBudget).rejects.toMatchObject({ reason: 'over-evaluation-budget', details: { players: 16, evaluations: 65536, budget: 1000 } });
    const [first] = await explainImages(model, [images[0]!], { method: 'shapley-self', game: {} });
    const contrast = explainImages(model, [images[0]!], { method: 'shapley-self', game: { target: first!.predicted, contrast: true } });
    await expect(contrast).rejects.toBeInstanceOf(ExplainRefusal);
    await expect(contrast).rejects.toMatchObject({ reason: 'contrast-is-prediction' });
    model.destroy();
  });

  it('runs model methods image by image on the grid asked for', async () => {
    const { model, images } = await fixture();
    const done: number[] = [];
    const results = await explainImages(model, images, { method: 'gradcam', game: { grid: 2 } }, { onImage: (n) => done.push(n) });
    expect(done).toEqual([1, 2]);
    expect(results.map((r) => r.attribution.grid)).toEqual([[2, 2], [2, 2]]);
    expect(results.every((r) => r.attribution.target === r.predicted)).toBe(true);
    model.destroy();
  });
});

describe('explainImages cancellation', () => {
  it('stops after the forward call during which the signal fired, and the model still works', async () => {
    const { model, images } = await fixture();
    const controller = new AbortController();
    const progress: number[] = [];
    const spec = { method: 'shapley-sampling' as const, game: { batchRows: 16 }, options: { samples: 64 } };
    const run = explainImages(model, images, spec, {
      signal: controller.signal,
      onProgress: (n) => {
        progress.push(n);
        if (progress.length === 2) controller.abort(new Error('cancelled by the test'));
      },
    });
    await expect(run).rejects.toThrow('cancelled by the test');
    // 64 antithetic permutations of 16 players on two images plan thousands of rows; the
    // abort lands at the next forward call of 16 rows.
    expect(progress).toHaveLength(2);
    const [again] = await explainImages(model, [images[0]!], { method: 'shapley-self', game: {} });
    expect(again!.attribution.scores).toHaveLength(16);
    model.destroy();
  });
});

describe('moxiSteps', () => {
  it('replays the greedy order: step t shows the players chosen so far and its reward is the search\'s', async () => {
    const { model, images } = await fixture();
    for (const method of ['moxi-insertion', 'moxi-deletion'] as const) {
      const [{ attribution }] = (await explainImages(model, [images[0]!], { method, game: {}, options: { stop: 'full' } })) as [Explanation];
      const steps = await moxiSteps(model, images[0]!, attribution, {});
      expect(steps).toHaveLength(16);
      steps.forEach((s, t) => {
        const chosen = attribution.order!.slice(0, t + 1).sort((a, b) => a - b);
        expect(s.shown).toEqual(method === 'moxi-insertion' ? chosen : Array.from({ length: 16 }, (_, p) => p).filter((p) => !chosen.includes(p)));
        // The search evaluated these coalitions in batches of other rows: float32 rows agree to
        // ~1e-6 whatever their neighbours; a wrong coalition moves the reward by far more than 1e-4.
        expect(Math.abs(s.reward - attribution.rewards![t]!)).toBeLessThan(1e-4);
        expect(s.targetProbability).toBeGreaterThan(0);
        expect(s.targetProbability).toBeLessThanOrEqual(1);
      });
      // Insertion ends on the full image and deletion on the empty one: the last step's
      // probability is the full image's for insertion.
      if (method === 'moxi-insertion') expect(steps.at(-1)!.top).toBe((await explainImages(model, [images[0]!], { method: 'gradcam', game: {} }))[0]!.predicted);
    }
    model.destroy();
  });
});
