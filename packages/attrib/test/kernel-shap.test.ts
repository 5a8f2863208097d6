import { describe, expect, it } from 'vitest';
import { kernelShap, kernelShapEvaluations, shapleyKernel } from '../src/methods/kernel-shap.ts';
import { shapleyExact } from '../src/methods/shapley.ts';
import { andPair, arbitraryGame, orPair } from './analytic-game.ts';
import { referenceKernelShapFit } from './reference-fits.ts';



describe('KernelSHAP', () => {
  it.each([
    ['AND pair', andPair],
    ['OR pair', orPair],
    ['an arbitrary 7-player game', () => arbitraryGame(7, 3)],
  ])('with every coalition equals the exact Shapley values (1e-6): %s', async (_, make) => {
    const fit = await kernelShap(make());
    const exact = await shapleyExact(make());
    expect(fit.phi).toHaveLength(exact.length);
    fit.phi.forEach((p, i) => expect(Math.abs(p - exact[i]!)).toBeLessThan(1e-6));
  });

  it('weights each coalition by the Shapley kernel (N - 1) / (C(N, s) s (N - s))', () => {
    expect(shapleyKernel(4, 1)).toBeCloseTo(3 / (4 * 1 * 3), 15);
    expect(shapleyKernel(4, 2)).toBeCloseTo(3 / (6 * 2 * 2), 15);
    expect(shapleyKernel(7, 3)).toBeCloseTo(6 / (35 * 3 * 4), 15);
  });

  it('sampled: equals the reference fit of the same coalitions, keeps efficiency exactly, and costs what it plans', async () => {
    const game = arbitraryGame(8, 11);
    const fit = await kernelShap(game, { samples: 60, seed: 5 });
    expect(game.evaluations).toBe(kernelShapEvaluations(8, 60));
    expect(game.evaluations).toBe(62);
    expect(new Set(fit.coalitions.map((c) => c.join(','))).size).toBe(60);
    expect(fit.coalitions.every((c) => c.length > 0 && c.length < 8)).toBe(true);
    const reference = referenceKernelShapFit(8, fit.coalitions, fit.weights, fit.values, fit.empty, fit.full);
    fit.phi.forEach((p, i) => expect(Math.abs(p - reference[i]!)).toBeLessThan(1e-9));
    expect(Math.abs(fit.phi.reduce((a, b) => a + b, 0) - (fit.full - fit.empty))).toBeLessThan(1e-12);
  });

  it('sampled: the same seed draws the same coalitions, another seed others', async () => {
    const a = await kernelShap(arbitraryGame(8, 1), { samples: 30, seed: 2 });
    const b = await kernelShap(arbitraryGame(8, 1), { samples: 30, seed: 2 });
    const c = await kernelShap(arbitraryGame(8, 1), { samples: 30, seed: 3 });
    expect(b.coalitions).toEqual(a.coalitions);
    expect(b.phi).toEqual(a.phi);
    expect(c.coalitions).not.toEqual(a.coalitions);
  });

  it('refuses a fit over maxEvaluations and one with too few samples to determine it', async () => {
    await expect(kernelShap(arbitraryGame(12, 1), { maxEvaluations: 1000 })).rejects.toThrow(/needs 4,096 evaluations, over maxEvaluations 1,000/);
    await expect(kernelShap(arbitraryGame(8, 1), { samples: 3 })).rejects.toThrow(/underdetermined with these samples/);
  });
});
