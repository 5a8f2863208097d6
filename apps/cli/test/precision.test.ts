import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

// --precision f16 on the bundled, trained SET-SUM ViTs (lavapipe has shader-f16): the
// explanation users get must not change. Measured on the 16 bundled examples: every
// prediction and every MoXI group (--stop correct, the default) identical to f32 on both
// models, rewards within 0.020 (one-token ViT); the token-level ViT's stay within the 0.02
// asserted below. Full rankings of its 64 players are not held equal: f16 can reorder late
// near-ties, which the README says.
const REPO = join(import.meta.dirname, '..', '..', '..');
const EXAMPLES = join(REPO, 'examples', 'setsum');
const dir = mkdtempSync(join(tmpdir(), 'moxi-precision-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Report {
  predicted: number;
  order: number[];
  rewards: number[];
}

function explainFolder(model: string, precision: string): Report[] {
  const run = runCli(['explain', '--model', join(REPO, 'models', model), '--input', EXAMPLES, '--out-dir', join(dir, `${model}-${precision}`), '--precision', precision, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { images: Report[] }).images;
}

describe('--precision f16', () => {
  it.each([
    { model: 'setsum-vit', rewards: 0.05 },
    { model: 'setsum-vit-patch7', rewards: 0.02 },
  ])('$model: the same predictions and MoXI groups as f32 on all 16 examples', ({ model, rewards }) => {
    const full = explainFolder(model, 'f32');
    const half = explainFolder(model, 'f16');
    expect(half).toHaveLength(16);
    expect(half.map((r) => r.predicted)).toEqual(full.map((r) => r.predicted));
    expect(half.map((r) => r.order)).toEqual(full.map((r) => r.order));
    // Rewards are log-odds of O(1-10): f16 storage moves them by measured 0.020 / 0.006.
    expect(half.every((r) => r.rewards.length > 0)).toBe(true);
    half.forEach((r, k) => r.rewards.forEach((v, t) => expect(Math.abs(v - full[k]!.rewards[t]!)).toBeLessThan(rewards)));
  });

  it('predict: logits within f16 rounding of f32, same top class', () => {
    const logits = (precision: string) => {
      const run = runCli(['predict', '--model', join(REPO, 'models', 'setsum-vit'), '--input', join(EXAMPLES, '000001.png'), '--precision', precision, '--json']);
      expect(run.code, run.stderr).toBe(0);
      return (JSON.parse(run.stdout) as { logits: number[][] }).logits[0]!;
    };
    const [full, half] = [logits('f32'), logits('f16')];
    const top = (z: number[]) => z.indexOf(Math.max(...z));
    expect(top(half)).toBe(top(full));
    // Logits up to 10.2: f16 moves them by measured 3.9e-3 here; held to 0.02 (5x).
    expect(half).toHaveLength(31);
    half.forEach((v, c) => expect(Math.abs(v - full[c]!)).toBeLessThan(0.02));
    expect(half).not.toEqual(full);
  });

  it('is refused up front where it cannot run: ResNets, gradients, unknown values', () => {
    const resnet = runCli(['predict', '--model', join(REPO, 'models', 'setsum-resnet18'), '--input', join(EXAMPLES, '000001.png'), '--precision', 'f16']);
    expect(resnet.code).toBe(2);
    expect(resnet.messages).toEqual(['moxi: --precision: f16 runs ViTs; resnet18 runs in f32 (its convolution kernels have no f16 variant yet)']);
    const gradcam = runCli(['explain', '--model', join(REPO, 'models', 'setsum-vit'), '--input', join(EXAMPLES, '000001.png'), '--method', 'gradcam', '--precision', 'f16']);
    expect(gradcam.code).toBe(2);
    expect(gradcam.messages).toEqual(['moxi: --precision: gradcam needs gradients, which run in f32; leave --precision f16 out']);
    const evaluate = runCli(['evaluate', '--model', join(REPO, 'models', 'setsum-vit'), '--data', join(EXAMPLES, 'labels.csv'), '--out', join(dir, 'evaluate'), '--precision', 'f16']);
    expect(evaluate.code).toBe(2);
    expect(evaluate.messages).toEqual(['moxi: --precision: gradcam (give --methods without gradcam) needs gradients, which run in f32; leave --precision f16 out']);
    const unknown = runCli(['bench', '--model', join(REPO, 'models', 'setsum-vit'), '--precision', 'f64']);
    expect(unknown.code).toBe(2);
    expect(unknown.messages[0]).toMatch(/^moxi: --precision: "f64" is not one of f32, f16/);
  });
});
