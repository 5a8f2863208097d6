import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Attribution } from '@moxi/attrib';
import { explanationSummary } from '../src/commands/explain-report.ts';
import { runCli } from './run-cli.ts';

// `moxi explain` with RISE, Chefer's relevance and the group interaction indices: what each
// plans is what it runs, options reach them, and what they cannot do is refused in one line.
const REPO = join(import.meta.dirname, '..', '..', '..');
const image = join(REPO, 'examples', 'setsum', '000000.png');
const VIT = join(REPO, 'models', 'setsum-vit');
const TOKENS = join(REPO, 'models', 'setsum-vit-patch7');
const RESNET = join(REPO, 'models', 'setsum-resnet18');

interface Explanation {
  scores: number[];
  grid: [number, number];
  evaluations: number;
  planned: { evaluations: number; gflop: number };
  groups?: Array<{ players: number[]; value: number; standardError?: number }>;
}

const explain = (args: string[]) => {
  const run = runCli(['explain', '--input', image, '--json', ...args]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Explanation;
};

const refusal = (args: string[]) => {
  const run = runCli(['explain', '--input', image, ...args]);
  expect(run.code).toBe(2);
  expect(run.messages).toHaveLength(1);
  return run.messages[0];
};

describe('moxi explain --method rise / rise-players', () => {
  it('rise: --samples masked images, as planned; --seed reaches it (rise.test.ts checks that a seed repeats itself)', () => {
    const a = explain(['--model', VIT, '--method', 'rise', '--samples', '64', '--seed', '2']);
    expect([a.evaluations, a.planned.evaluations]).toEqual([64, 64]);
    expect(explain(['--model', VIT, '--method', 'rise', '--samples', '64', '--seed', '3']).scores).not.toEqual(a.scores);
  });

  it('rise-players: --samples coalitions of the token-level ViT, as planned, with --rise-cells', () => {
    const a = explain(['--model', TOKENS, '--method', 'rise-players', '--samples', '300', '--rise-cells', '4']);
    expect([a.evaluations, a.planned.evaluations]).toEqual([300, 300]);
    expect(a.scores).toHaveLength(64);
  });

  it('refuses a reward for rise-players (it averages probabilities) and a keep probability of 0', () => {
    expect(refusal(['--model', VIT, '--method', 'rise-players', '--reward', 'logit'])).toMatch(/^moxi: --reward: applies to the black-box methods but rise-players/);
    expect(refusal(['--model', VIT, '--method', 'rise', '--rise-probability', '0'])).toBe('moxi: --rise-probability: must be above 0: RISE divides by it');
  });
});

describe('moxi explain --method integrated-gradients / smoothgrad / input-x-gradient', () => {
  it('integrated-gradients: --integration-steps passes with the rule and baseline asked for, as planned; the rules give different sums', () => {
    const trapezoid = explain(['--model', VIT, '--method', 'integrated-gradients', '--integration-steps', '8', '--integration', 'riemann-trapezoid', '--baseline', 'blur', '--blur-sigma', '3']);
    expect([trapezoid.evaluations, trapezoid.planned.evaluations]).toEqual([8, 8]);
    const legendre = explain(['--model', VIT, '--method', 'integrated-gradients', '--integration-steps', '8', '--baseline', 'blur', '--blur-sigma', '3']);
    expect(legendre.scores).not.toEqual(trapezoid.scores);
  });

  it('smoothgrad: --samples noisy copies (integrated-gradients.test.ts checks the seed); input-x-gradient: one pass', () => {
    const a = explain(['--model', VIT, '--method', 'smoothgrad', '--samples', '4', '--seed', '1', '--noise-level', '0.2']);
    expect([a.evaluations, a.planned.evaluations]).toEqual([4, 4]);
    expect(explain(['--model', VIT, '--method', 'input-x-gradient']).evaluations).toBe(1);
  });

  it('refuses a blur sigma without the blurred baseline, and a noise level for another method', () => {
    expect(refusal(['--model', VIT, '--method', 'integrated-gradients', '--blur-sigma', '3'])).toBe("moxi: --blur-sigma: is the blurred baseline's; give --baseline blur with it");
    expect(refusal(['--model', VIT, '--method', 'input-x-gradient', '--noise-level', '0.1'])).toBe('moxi: --noise-level: applies to smoothgrad, not to --method input-x-gradient; leave it out');
  });
});

describe('moxi explain --method chefer', () => {
  it('scores every token of the token-level ViT with one gradient pass', () => {
    const a = explain(['--model', TOKENS, '--method', 'chefer']);
    expect(a.grid).toEqual([8, 8]);
    expect([a.evaluations, a.planned.evaluations]).toEqual([1, 1]);
  });

  it('refuses a CNN and a --grid in one line', () => {
    expect(refusal(['--model', RESNET, '--method', 'chefer'])).toBe('moxi: --method: Chefer relevance needs a ViT; a CNN has no attention to propagate relevance through');
    expect(refusal(['--model', TOKENS, '--method', 'chefer', '--grid', '2'])).toBe('moxi: --grid: applies to every method but rollout and chefer (they score the token grid), not to --method chefer; leave it out');
  });
});

describe('moxi explain --method shapley-taylor / shapley-interaction', () => {
  it('shapley-taylor of order 3 on 4 players: every group of 2 and 3, and all terms add up to v(N) - v({}) (the exact Shapley values do too)', () => {
    const taylor = explain(['--model', VIT, '--method', 'shapley-taylor', '--order', '3']);
    const exact = explain(['--model', VIT, '--method', 'shapley-exact']);
    expect(taylor.groups!.map((g) => g.players)).toEqual([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3], [0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum(taylor.scores) + sum(taylor.groups!.map((g) => g.value)) - sum(exact.scores))).toBeLessThan(1e-6);
    expect([taylor.evaluations, taylor.planned.evaluations]).toEqual([16, 16]);
  });

  it('shapley-interaction of order 2 on 64 players: the pairs of the 8 players that matter most, sampled with standard errors, as planned', () => {
    const run = explain(['--model', TOKENS, '--method', 'shapley-interaction', '--order', '2', '--samples', '2']);
    expect(run.groups).toHaveLength(28);
    for (const g of run.groups!) expect(g.standardError).toBeGreaterThanOrEqual(0);
    // 65 coalitions for the full-context values that choose the 8, then 28 pairs x 2 draws x 4.
    expect([run.evaluations, run.planned.evaluations]).toEqual([65 + 28 * 2 * 4, 65 + 28 * 2 * 4]);
  });

  it('says which passes a model method ran: forward only for RISE and rollout, forward and backward for the gradient methods', () => {
    const line = (method: Attribution['method'], evaluations: number) =>
      explanationSummary({ predicted: 1, predictedLabel: null, targetLabel: null, seconds: 1, heatmap: null }, { method, target: 1, grid: [2, 2], scores: [0, 0, 0, 0], evaluations }).at(-1);
    expect(line('rise', 500)).toBe('500 forward passes in 1.00 s');
    expect(line('rollout', 1)).toBe('1 forward pass in 1.00 s');
    expect(line('integrated-gradients', 50)).toBe('50 forward/backward passes in 1.00 s');
    expect(line('chefer', 1)).toBe('1 forward/backward pass in 1.00 s');
  });

  it('prints the six strongest groups by |index|, with their standard errors when sampled', () => {
    const groups = [
      { players: [0, 1], value: 0.1, standardError: 0.01 },
      { players: [2, 3], value: -0.9, standardError: 0.02 },
      ...Array.from({ length: 6 }, (_, k) => ({ players: [4, 5 + k], value: 0.2 + k / 100, standardError: 0 })),
    ];
    const a = { method: 'shapley-interaction', target: 1, grid: [8, 8], scores: new Array(64).fill(0), evaluations: 1, groups } as Attribution;
    const lines = explanationSummary({ predicted: 1, predictedLabel: null, targetLabel: null, seconds: 1, heatmap: null }, a);
    expect(lines).toContain('strongest groups of 8 (by |index|): {2, 3}: -0.900 ± 0.020, {4, 10}: 0.250 ± 0.000, {4, 9}: 0.240 ± 0.000, {4, 8}: 0.230 ± 0.000, {4, 7}: 0.220 ± 0.000, {4, 6}: 0.210 ± 0.000');
  });

  it('refuses an order above 4 and --order for another method', () => {
    expect(refusal(['--model', VIT, '--method', 'shapley-taylor', '--order', '5'])).toBe('moxi: --order: must be at most 4');
    expect(refusal(['--model', VIT, '--method', 'moxi-insertion', '--order', '3'])).toBe('moxi: --order: applies to shapley-interaction and shapley-taylor, not to --method moxi-insertion; leave it out');
  });
});
