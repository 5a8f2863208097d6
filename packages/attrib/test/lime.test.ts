import { describe, expect, it } from 'vitest';
import { lime, LIME_DEFAULT_SAMPLES, limeKernel } from '../src/methods/lime.ts';
import { plannedEvaluations, runMethod } from '../src/methods/run-method.ts';
import { additive, arbitraryGame } from './analytic-game.ts';
import { referenceRidge } from './reference-fits.ts';



describe('LIME', () => {
  it('equals the reference ridge fit of the same samples (1e-9)', async () => {
    const fit = await lime(arbitraryGame(9, 4), { samples: 300, seed: 8 });
    const reference = referenceRidge(9, fit.coalitions, fit.weights, fit.values, 1);
    fit.scores.forEach((s, i) => expect(Math.abs(s - reference.coefficients[i]!)).toBeLessThan(1e-9));
    expect(Math.abs(fit.intercept - reference.intercept)).toBeLessThan(1e-9);
  });

  it('draws the full coalition first, then each player kept with probability 1/2, seeded', async () => {
    const a = await lime(arbitraryGame(6, 1), { samples: 2000, seed: 2 });
    expect(a.coalitions[0]).toEqual([0, 1, 2, 3, 4, 5]);
    const kept = a.coalitions.slice(1).reduce((n, c) => n + c.length, 0) / (1999 * 6);
    expect(Math.abs(kept - 0.5)).toBeLessThan(0.02);
    const b = await lime(arbitraryGame(6, 1), { samples: 2000, seed: 2 });
    expect(b.scores).toEqual(a.scores);
    expect((await lime(arbitraryGame(6, 1), { samples: 2000, seed: 3 })).coalitions).not.toEqual(a.coalitions);
  });

  it('weights by sqrt(exp(-d^2 / 0.25^2)) on the cosine distance to the full image', () => {
    expect(limeKernel(4, 4)).toBe(1);
    expect(limeKernel(4, 1)).toBeCloseTo(Math.sqrt(Math.exp(-(0.5 ** 2) / 0.0625)), 15);
    expect(limeKernel(4, 0)).toBeCloseTo(Math.sqrt(Math.exp(-16)), 15);
  });

  it('recovers an additive game up to the ridge shrinkage, and costs its samples', async () => {
    const game = additive([3, -1, 0.5, 2]);
    const r = await runMethod('lime', game, [2, 2], { seed: 0 });
    expect(game.evaluations).toBe(LIME_DEFAULT_SAMPLES);
    expect(plannedEvaluations('lime', 4)).toBe(LIME_DEFAULT_SAMPLES);
    expect(r.evaluations).toBe(LIME_DEFAULT_SAMPLES);
    // The penalty (alpha 1 against a weighted sum of the samples) shrinks little: within 5%.
    [3, -1, 0.5, 2].forEach((a, i) => expect(Math.abs(r.scores[i]! - a)).toBeLessThan(0.05 * Math.abs(a) + 0.05));
  });
});
