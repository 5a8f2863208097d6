import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const image = join(REPO, 'examples', 'setsum', '000000.png');

interface Explanation {
  scores: number[];
  evaluations: number;
  planned: { evaluations: number };
}

const explain = (args: string[]) => {
  const run = runCli(['explain', '--input', image, '--json', ...args]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Explanation;
};

describe('moxi explain --method kernel-shap', () => {
  it('with every coalition equals the exact Shapley values on the bundled ViT (1e-6) and costs 2^N', () => {
    const model = join(REPO, 'models', 'setsum-vit');
    const kernel = explain(['--model', model, '--method', 'kernel-shap']);
    const exact = explain(['--model', model, '--method', 'shapley-exact']);
    expect(kernel.scores).toHaveLength(4);
    kernel.scores.forEach((s, i) => expect(Math.abs(s - exact.scores[i]!)).toBeLessThan(1e-6));
    expect([kernel.evaluations, kernel.planned.evaluations]).toEqual([16, 16]);
  });

  it('sampled on the token-level ViT: the planned coalitions are the ones evaluated, and a seed repeats its scores', () => {
    const model = join(REPO, 'models', 'setsum-vit-patch7');
    const run = explain(['--model', model, '--method', 'kernel-shap', '--samples', '200', '--seed', '3']);
    expect([run.evaluations, run.planned.evaluations]).toEqual([202, 202]);
    expect(run.scores).toHaveLength(64);
    const again = explain(['--model', model, '--method', 'kernel-shap', '--samples', '200', '--seed', '3']);
    expect(again.scores).toEqual(run.scores);
  });

  it('refuses every coalition of 64 players in one line naming --samples', () => {
    const run = runCli(['explain', '--input', image, '--model', join(REPO, 'models', 'setsum-vit-patch7'), '--method', 'kernel-shap']);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toBe('moxi: --max-evaluations: kernel-shap on 64 players plans 2^64 coalitions, over the limit of 2^20; use a coarser --grid, give --samples, or raise --max-evaluations');
  });
});

describe('moxi explain --method lime', () => {
  it('fits --samples coalitions (planned = evaluated) and repeats itself for a seed', () => {
    const model = join(REPO, 'models', 'setsum-vit');
    const a = explain(['--model', model, '--method', 'lime', '--samples', '400', '--seed', '1']);
    const b = explain(['--model', model, '--method', 'lime', '--samples', '400', '--seed', '1']);
    expect([a.evaluations, a.planned.evaluations]).toEqual([400, 400]);
    expect(b.scores).toEqual(a.scores);
    expect(explain(['--model', model, '--method', 'lime', '--samples', '400', '--seed', '2']).scores).not.toEqual(a.scores);
  });
});
