import { describe, expect, it } from 'vitest';
import { logOdds, logProb, reward, rewards } from '../src/reward.ts';

describe('rewards from logits', () => {
  it('log-odds equals log(p / (1 - p)) (1e-12)', () => {
    const z = [0.3, -1.2, 2.5, 0.7];
    const e = z.map(Math.exp);
    const p = e[2]! / e.reduce((a, b) => a + b, 0);
    expect(logOdds(z, 2)).toBeCloseTo(Math.log(p / (1 - p)), 12);
  });

  it('log-odds of two classes is the logit difference', () => {
    expect(logOdds([1.75, -0.5], 0)).toBeCloseTo(2.25, 12);
  });

  it('stays finite and exact for a saturated class, where 1 - p rounds to 0', () => {
    // p_0 = 1 - 1e-435 in float64: a probability-based formula returns Infinity.
    expect(logOdds([1000, 0, -5], 0)).toBeCloseTo(1000 - Math.log(1 + Math.exp(-5)), 9);
    expect(logProb([1000, 0, -5], 1)).toBeCloseTo(-1000, 9);
  });

  it('log-prob is log softmax (1e-12)', () => {
    expect(logProb([1, 2, 3], 2)).toBeCloseTo(3 - Math.log(Math.E + Math.E ** 2 + Math.E ** 3), 12);
  });

  it('explains the evidence for the target, predicted or not (Captum\'s target)', () => {
    const z = [2, 0.5, -1];
    expect(reward(z, { kind: 'logodds', target: 1 })).toBeCloseTo(logOdds(z, 1), 12);
    expect(reward(z, { kind: 'logprob', target: 2 })).toBeCloseTo(logProb(z, 2), 12);
    expect(reward(z, { kind: 'logit', target: 2 })).toBe(-1);
  });

  it('with a contrast class (App. F) is the difference of log-odds; a contrast equal to the target changes nothing', () => {
    const z = [2, 0.5, -1];
    expect(reward(z, { kind: 'logodds', target: 1, contrast: 0 })).toBeCloseTo(logOdds(z, 0) - logOdds(z, 1), 12);
    expect(reward(z, { kind: 'logodds', target: 0, contrast: 0 })).toBeCloseTo(logOdds(z, 0), 12);
  });

  it('scores every row of a logits block', () => {
    const block = new Float32Array([0, 1, 1, 0]);
    expect(Array.from(rewards(block, 2, { kind: 'logodds', target: 1 }))).toEqual([1, -1]);
  });
});
