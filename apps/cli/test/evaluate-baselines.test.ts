import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plannedImageCost, type EvaluationRecord } from '@moxi/attrib';
import { runCli } from './run-cli.ts';
import { readRecordLines, type RecordLine } from './evaluate-records.ts';

// `moxi evaluate --methods` with the baselines beyond the paper's, on SET-SUM test images and
// the bundled 4-token ViT: each runs, costs what it plans, and the report draws it beside MoXI.
const REPO = join(import.meta.dirname, '..', '..', '..');
const MODEL = join(REPO, 'models', 'setsum-vit');
const dir = mkdtempSync(join(tmpdir(), 'moxi-evaluate-baselines-'));
const data = join(dir, 'data', 'test');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const METHODS = ['moxi', 'kernel-shap', 'lime', 'rise-players', 'rise', 'integrated-gradients', 'smoothgrad', 'input-x-gradient', 'chefer'];
const evaluate = (out: string, ...extra: string[]) => runCli(['evaluate', '--model', MODEL, '--data', data, '--images', '3', '--seed', '2', '--out', out, '--json', ...extra]);
let records: RecordLine[] = [];
let log = '';

beforeAll(() => {
  expect(runCli(['setsum', 'generate', '--out', join(dir, 'data'), '--train', '0', '--test', '12', '--seed', '4', '--layout', 'imagefolder']).code).toBe(0);
  const run = evaluate(join(dir, 'run'), '--methods', METHODS.join(','), '--samples', '120');
  expect(run.code, run.stderr).toBe(0);
  log = run.stderr;
  records = readRecordLines(join(dir, 'run'));
}, 300_000);

const of = (method: string) => records.filter((r) => r.method === method) as unknown as EvaluationRecord[];

describe('moxi evaluate with KernelSHAP, LIME, RISE, the input-gradient methods and Chefer', () => {
  it('writes a mask record per image for each method, with the evaluations it planned', () => {
    // --samples 120: KernelSHAP on 4 players is exact (all 16 coalitions); LIME, RISE's
    // masks over the players, RISE's masked images and SmoothGrad's noisy copies: 120 each;
    // integrated gradients its 50 steps; input x gradient and Chefer one gradient pass.
    const want: Record<string, number> = { moxi: 20, 'kernel-shap': 16, lime: 120, 'rise-players': 120, rise: 120, 'integrated-gradients': 50, smoothgrad: 120, 'input-x-gradient': 1, chefer: 1 };
    for (const method of METHODS) {
      const lines = of(method);
      expect(lines.map((r) => r.image).length, method).toBe(3);
      for (const r of lines) expect(r.evaluations, method).toBe(want[method]);
    }
  });

  it('prints that plan before any work, in coalitions or images, and its progress reaches it', () => {
    expect(log).toContain(
      'per image: 4 players; explanations moxi 20 coalitions, kernel-shap 16 coalitions, lime 120 coalitions, rise-players 120 coalitions, rise 120 images, ' +
        'integrated-gradients 50 images, smoothgrad 120 images, input-x-gradient 1 image, chefer 1 image, curves',
    );
    // 3 images x (the explanations' 568 + the curves' 2 x 5 x 9 = 90).
    expect(log).toMatch(/evaluate: 1974\/1974 /);
  });

  it("ranks KernelSHAP's exact fit as the exact Shapley values would (the deletion curve equals its own ranking's)", () => {
    for (const r of of('kernel-shap')) {
      expect(r.insertionOrder).toEqual(r.deletionOrder);
      expect([...r.insertionOrder].sort()).toEqual([0, 1, 2, 3]);
    }
  });

  it('the report lists every method and draws them in the curves figure', () => {
    const report = runCli(['evaluate', 'report', join(dir, 'run'), '--json']);
    expect(report.code, report.stderr).toBe(0);
    const summary = JSON.parse(report.stdout) as { rows: Array<{ method: string; perturbation: string }>; runtime: Array<{ method: string; evaluationsPerImage: number }> };
    expect(summary.rows.filter((r) => r.perturbation === 'mask').map((r) => r.method)).toEqual(['moxi', 'kernel-shap', 'lime', 'rise-players', 'rise', 'integrated-gradients', 'smoothgrad', 'input-x-gradient', 'chefer']);
    const svg = readFileSync(join(dir, 'run', 'curves.svg'), 'utf8');
    for (const method of METHODS) expect(svg, method).toContain(`${method} (AUC`);
    expect(existsSync(join(dir, 'run', 'curves.png'))).toBe(true);
  });

  it('plans their own sample counts when --samples is left out (LIME 1000, RISE 4000, SmoothGrad 50, KernelSHAP every coalition or 2,048)', () => {
    const settings = { perturbations: [], samples: 16, sampler: 'shared-size' as const };
    const methods = ['kernel-shap', 'lime', 'rise-players', 'rise', 'smoothgrad', 'integrated-gradients'] as const;
    expect(plannedImageCost(4, { ...settings, methods }).explanations).toEqual({ 'kernel-shap': 16, lime: 1000, 'rise-players': 4000, rise: 4000, smoothgrad: 50, 'integrated-gradients': 50 });
    expect(plannedImageCost(64, { ...settings, methods: ['kernel-shap'] }).explanations).toEqual({ 'kernel-shap': 2050 });
    // --samples given reaches them all, shapley-sampling's 16 aside.
    expect(plannedImageCost(64, { ...settings, givenSamples: 30, methods: [...methods, 'shapley-sampling'] }).explanations).toMatchObject({ 'kernel-shap': 32, lime: 30, rise: 30, smoothgrad: 30, 'shapley-sampling': 2 * 64 * 16 });
  });

  it('refuses --samples when no listed method takes it, naming the evaluation methods that do', () => {
    const run = runCli(['evaluate', '--model', MODEL, '--data', data, '--out', join(dir, 'refused'), '--methods', 'moxi', '--samples', '8']);
    expect(run.code).toBe(2);
    expect(run.messages).toEqual(['moxi: --samples: applies to shapley-sampling, kernel-shap, lime, rise-players, rise, smoothgrad only, which --methods moxi leaves out; leave it out']);
    expect(existsSync(join(dir, 'refused'))).toBe(false);
  });
});

describe('moxi evaluate refuses the attention methods on a CNN', () => {
  it('names chefer and the model in one line, writing nothing', () => {
    const out = join(dir, 'cnn');
    const run = runCli(['evaluate', '--model', join(REPO, 'models', 'setsum-resnet18'), '--data', data, '--out', out, '--methods', 'moxi,chefer']);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toMatch(/^moxi: --methods: chefer needs a ViT; \S+ has no attention$/);
    expect(existsSync(out)).toBe(false);
  });
});
