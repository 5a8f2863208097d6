import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { explainImages, type CoalitionMethodName } from '@moxi/attrib';
import { batchSlice, prepareModel } from '@moxi/kernels';
import { readInputFile, readModelFiles } from '@moxi/kernels/node';
import { materializeGoldenFolder, releaseTestEngine, resnetGoldenFolders, testEngine, VIT_FIXTURES } from '@moxi/kernels/testing';
import { runCli } from './run-cli.ts';

// `moxi explain` on the small ViT fixture (4x4 = 16 patch tokens).
const dir = mkdtempSync(join(tmpdir(), 'moxi-explain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterAll(releaseTestEngine);
const model = join(VIT_FIXTURES, 'small-timm');
const input = join(VIT_FIXTURES, 'small-timm', 'input.npy');
const N = 16;

interface Report {
  method: string;
  target: number;
  predicted: number;
  grid: [number, number];
  scores: number[];
  order?: number[];
  rewards?: number[];
  interactions?: number[][];
  stopStep?: number;
  ranks?: Array<number | null>;
  evaluations: number;
  seconds: number;
}

function explain(args: string[]): Report {
  const run = runCli(['explain', '--model', model, '--input', input, '--image-index', '0', '--json', ...args]);
  expect(run.messages).toEqual([]);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Report;
}

describe('moxi explain --json', () => {
  it.each([
    ['shapley-self', [], N + 1],
    ['shapley-full', [], N + 1],
    ['shapley-sampling', ['--samples', '8', '--seed', '3'], 8 * (N - 1) + 2],
    ['shapley-sampling', ['--samples', '3', '--sampler', 'shared-size'], 3 * 2 * N],
    ['shapley-exact', ['--grid', '2'], 16],
    ['interaction-self', [], (N * (N - 1)) / 2 + N + 1],
  ] as const)('%s %j: contract fields, its evaluation count, and the library\'s scores', async (method, extra, evaluations) => {
    const r = explain(['--method', method, ...extra]);
    // The numbers themselves: the CLI prints what @moxi/attrib computes for the same image
    // and options, here in this process on the same adapter: the same float32 passes in the
    // same order, so only JSON's decimal round trip may differ (held to 1e-9). A flag the
    // CLI dropped or mapped wrongly (seed, sampler, grid) moves scores by far more.
    const prepared = prepareModel(readModelFiles(model));
    const image = batchSlice(readInputFile(input, prepared.info.inputShape), 0);
    const library = prepared.instantiate(await testEngine());
    const flag = (name: string) => extra[extra.indexOf(name as never) + 1];
    const [expected] = await explainImages(library, [image], {
      method: method as CoalitionMethodName,
      game: extra.includes('--grid' as never) ? { grid: Number(flag('--grid')) } : {},
      options: {
        ...(extra.includes('--samples' as never) ? { samples: Number(flag('--samples')) } : {}),
        ...(extra.includes('--seed' as never) ? { seed: Number(flag('--seed')) } : {}),
        ...(extra.includes('--sampler' as never) ? { sampler: flag('--sampler') as 'shared-size' } : {}),
      },
    });
    library.destroy();
    expect(r.predicted).toBe(expected!.predicted);
    expect(r.scores).toHaveLength(extra.includes('--grid' as never) ? Number(flag('--grid')) ** 2 : N);
    r.scores.forEach((v, p) => expect(Math.abs(v - expected!.attribution.scores[p]!), `score ${p}`).toBeLessThan(1e-9));
    expect(r.method).toBe(method);
    expect(r.target).toBe(r.predicted);
    const players = r.grid[0] * r.grid[1];
    expect(r.scores).toHaveLength(players);
    expect(r.scores.every(Number.isFinite)).toBe(true);
    expect(r.evaluations).toBe(evaluations);
    expect(r.seconds).toBeGreaterThan(0);
    if (method === 'interaction-self') {
      const I = r.interactions!;
      expect(I).toHaveLength(N);
      I.forEach((row, i) => row.forEach((v, j) => expect(v).toBe(I[j]![i]!)));
      I.forEach((row, i) => expect(row[i]).toBe(0));
    }
  });

  it('moxi-insertion --stop correct counts only the free candidates of the steps it took', () => {
    const r = explain(['--method', 'moxi-insertion', '--stop', 'correct']);
    const c = r.stopStep!;
    expect(c).toBeGreaterThan(0);
    expect(r.order).toHaveLength(c);
    expect(r.rewards).toHaveLength(c);
    let expected = 0;
    for (let t = 1; t <= c; t++) expected += N - t + 1;
    expect(r.evaluations).toBe(expected);
    // Heatmap weights: rank r < c weighs c - r.
    r.order!.forEach((p, rank) => expect(r.scores[p]).toBe(c - rank));
  });

  it('moxi-deletion --stop full ranks every patch: N(N+1)/2 evaluations, one reward per step, each player\'s rank', () => {
    const r = explain(['--method', 'moxi-deletion', '--stop', 'full']);
    r.order!.forEach((p, k) => expect(r.ranks![p]).toBe(k + 1));
    expect([...r.order!].sort((a, b) => a - b)).toEqual([...Array(N).keys()]);
    expect(r.rewards).toHaveLength(N);
    expect(r.evaluations).toBe((N * (N + 1)) / 2);
  });

  it('off a terminal, progress is plain lines on stderr that end at the total', () => {
    const run = runCli(['explain', '--model', model, '--input', input, '--image-index', '0', '--json', '--method', 'moxi-deletion', '--stop', 'full']);
    expect(run.code).toBe(0);
    const total = (N * (N + 1)) / 2;
    expect(run.progress.length).toBeGreaterThan(0);
    expect(run.progress.every((l) => l.startsWith('moxi-deletion: ') && !l.includes('\r'))).toBe(true);
    expect(run.progress.at(-1)).toMatch(new RegExp(`^moxi-deletion: ${total}/${total} `));
  });

  it('--target c explains the evidence for c; --contrast explains c against the prediction (App. F)', () => {
    const predicted = explain(['--method', 'shapley-self']).predicted;
    const other = (predicted + 1) % 10;
    // v(S) from `moxi predict` with the same patches kept: log-odds of a class, from logits.
    const logits = (keep: string): number[] => JSON.parse(runCli(['predict', '--model', model, '--input', input, '--keep', keep, '--json']).stdout).logits[0];
    const logOdds = (z: number[], c: number) => {
      const others = z.filter((_, j) => j !== c);
      const m = Math.max(...others);
      return z[c]! - (m + Math.log(others.reduce((a, x) => a + Math.exp(x - m), 0)));
    };
    const empty = logits('');
    const singles = [0, 5, 11].map((i) => [i, logits(String(i))] as const);
    const evidence = explain(['--method', 'shapley-self', '--target', String(other)]);
    expect([evidence.target, evidence.predicted]).toEqual([other, predicted]);
    // Tolerance 1e-4: the same kernels, other batch rows (float32 sums in another order).
    for (const [i, z] of singles) expect(evidence.scores[i]).toBeCloseTo(logOdds(z, other) - logOdds(empty, other), 4);
    const contrast = explain(['--method', 'shapley-self', '--target', String(other), '--contrast']);
    const v = (z: number[]) => logOdds(z, predicted) - logOdds(z, other);
    for (const [i, z] of singles) expect(contrast.scores[i]).toBeCloseTo(v(z) - v(empty), 4);
  });

  it('refuses --contrast on the predicted class itself (exit 2, one line)', () => {
    const predicted = explain(['--method', 'shapley-self']).predicted;
    const run = runCli(['explain', '--model', model, '--input', input, '--image-index', '0', '--method', 'shapley-self', '--target', String(predicted), '--contrast']);
    expect(run.code).toBe(2);
    expect(run.messages).toEqual([`moxi: --contrast: class ${predicted} is the prediction itself; give --target another class to contrast with it`]);
  });

  it('prints the plan before work (coalitions and FLOPs of the tokens kept) and reports it in JSON', () => {
    const run = runCli(['explain', '--model', model, '--input', input, '--image-index', '0', '--json', '--method', 'moxi-insertion', '--stop', 'full']);
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as Report & { planned: { evaluations: number; gflop: number } };
    // small-timm: 16 patches of 8x8x3, D 24, 3 blocks, MLP 96, 10 classes. Step t evaluates
    // 17 - t rows of t patch tokens + CLS; embedding every patch counts once per row.
    const D = 24;
    const flops = (T: number) => 2 * 16 * 192 * D + 3 * (2 * T * D * 3 * D + 4 * T * T * D + 2 * T * D * D + 4 * T * D * 96) + 2 * D * 10;
    let expected = 0;
    for (let t = 1; t <= N; t++) expected += (N + 1 - t) * flops(1 + t);
    expect(r.planned.evaluations).toBe((N * (N + 1)) / 2);
    expect(r.planned.gflop * 1e9).toBeCloseTo(expected, 0);
    expect(run.progress[0]).toBe(`moxi-insertion: 136 coalitions of 4x4 players planned, ${(expected / 1e9).toFixed(2)} GFLOP`);
  });

  it('text output: says whether the stop rule held, and lists the rest of a full ranking', () => {
    const args = ['explain', '--model', model, '--input', input, '--image-index', '0', '--method', 'moxi-insertion', '--stop', 'full'];
    const r = JSON.parse(runCli([...args, '--json']).stdout) as Report & { stopHeld: boolean };
    const text = runCli(args).stdout;
    if (r.stopHeld) expect(text).toContain(`stop rule held at step ${r.stopStep} of ${N}: after inserting ${r.stopStep} patch`);
    else expect(text).toContain(`stop rule never held: the prediction was never ${r.target} in all ${N} steps`);
    expect(text).toContain(`patches chosen (row-major), in order: ${r.order!.slice(0, r.stopStep).join(', ')};`);
    expect(text).toContain(`full ranking continues (${N - r.stopStep!} more): ${r.order!.slice(r.stopStep, r.stopStep! + 12).join(', ')}`);
  });

  it.each([
    [['--method', 'moxi-insertion', '--samples', '8'], '--samples: applies to shapley-sampling, kernel-shap, lime, rise, rise-players, shapley-interaction, shapley-taylor and smoothgrad, not to --method moxi-insertion; leave it out'],
    [['--method', 'gradcam', '--reward', 'logit'], '--reward: applies to the black-box methods'],
    [['--method', 'shapley-self', '--stop', 'full'], '--stop: applies to moxi-insertion and moxi-deletion, not to --method shapley-self'],
    [['--method', 'shapley-full', '--head-fusion', 'max'], '--head-fusion: applies to rollout'],
    [['--method', 'shapley-full', '--contrast'], '--contrast: needs --target'],
    [['--method', 'moxi-insertion', '--target', '1', '--contrast', '--reward', 'logit'], '--contrast: is defined on log-odds'],
    [['--method', 'moxi-insertion', '--stop', 'full', '--min-confidence', '0.5'], '--min-confidence: is part of the --stop correct rule'],
    [['--method', 'moxi-insertion', '--mask-from-layer', '2'], '--mask-from-layer: applies to --mask-mode attention only'],
    [['--method', 'moxi-insertion', '--grid', '1', '--max-evaluations', '5'], null],
    [['--method', 'moxi-insertion', '--stop', 'full', '--max-evaluations', '100'], '--max-evaluations: moxi-insertion on 16 players plans 136 coalitions, over the limit of 100'],
  ] as const)('refuses options that do not apply: %j', (args, message) => {
    const run = runCli(['explain', '--model', model, '--input', input, '--image-index', '0', ...args]);
    if (message === null) {
      expect(run.code).toBe(0);
      return;
    }
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toContain(`moxi: ${message}`);
    expect(run.stdout).toBe('');
  });

  it('writes a PNG heatmap at least 448 px wide with --out', () => {
    const out = join(dir, 'heatmap.png');
    explain(['--method', 'moxi-insertion', '--out', out]);
    const png = PNG.sync.read(readFileSync(out));
    expect(png.width).toBeGreaterThanOrEqual(448);
    // Title band above the square image, colour bar to its right.
    expect(png.width).toBeGreaterThan(png.height);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});

// The CLI prints the scores the library computes (full float64 in JSON), so the library
// tests' tolerance holds here too: 1e-5 after dividing by the max, where lavapipe measures
// 1.8e-7 to 8e-7 (packages/attrib/test/gradient-methods.test.ts).
describe('moxi explain --method gradcam | rollout matches PyTorch (1e-5 after dividing by the max)', () => {
  const golden = JSON.parse(readFileSync(new URL('../../../packages/attrib/test/fixtures/gradcam-rollout.json', import.meta.url), 'utf8'));
  const expectMap = (got: number[], want: number[]) => {
    expect(got).toHaveLength(want.length);
    const max = Math.max(...got);
    got.forEach((v, i) => expect(Math.abs(v / max - want[i]!)).toBeLessThan(1e-5));
  };

  it.each([
    ['gradcam', [], 'plain'],
    ['gradcam', ['--eigen-smooth'], 'eigenSmooth'],
  ] as const)('ViT %s %j', (method, flags, variant) => {
    const r = explain(['--method', method, ...flags]);
    expect(r.grid).toEqual([4, 4]);
    expectMap(r.scores, golden.vit.gradcam[variant]);
  });

  it("gradcam --target: the second-ranked class gets PyTorch's map for that class (class-discriminative)", () => {
    const r = explain(['--method', 'gradcam', '--target', String(golden.vit.secondClass.target)]);
    expect([r.target, r.predicted]).toEqual([golden.vit.secondClass.target, golden.vit.target]);
    expectMap(r.scores, golden.vit.secondClass.gradcam.plain);
  });

  it.each([
    [['--head-fusion', 'mean'], 'mean'],
    [['--head-fusion', 'min'], 'min'],
    [['--discard-ratio', '0.6'], 'meanDiscard0.6'],
  ] as const)('ViT rollout %j', (flags, variant) => {
    expectMap(explain(['--method', 'rollout', ...flags]).scores, golden.vit.rollout[variant]);
  });

  it('ResNet-18 at 224, --grid 7', () => {
    const folder = resnetGoldenFolders().find((f) => f.name === 'resnet18')!;
    const files = materializeGoldenFolder(folder, folder.cases[0]!, dir);
    const run = runCli(['explain', '--model', files.model, '--input', files.input, '--image-index', '0', '--method', 'gradcam', '--grid', '7', '--json']);
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as Report;
    expect(r.target).toBe(golden.resnet.target);
    expect(r.grid).toEqual([7, 7]);
    expectMap(r.scores, golden.resnet.gradcam.plain);
  });
});

describe('moxi explain refuses bad input with exit 2, before any work', () => {
  it.each([
    [['--method', 'saliency'], '--method'],
    [['--target', '10'], '--target'],
    [['--grid', '3'], '--grid'],
    [['--method', 'shapley-exact', '--max-evaluations', '1000'], '--max-evaluations'],
    [['--out', join(dir, 'missing-folder', 'h.png')], 'missing-folder'],
    [['--out', join(dir, 'h.jpg')], '.png'],
    [['--opacity', '2'], '--opacity'],
    [['--image-index', '5'], '--image-index'],
    [['--method', 'rollout', '--grid', '2'], '--grid'],
    [['--head-fusion', 'median'], '--head-fusion'],
  ])('%j', (args, names) => {
    const index = args.includes('--image-index') ? [] : ['--image-index', '0'];
    const run = runCli(['explain', '--model', model, '--input', input, ...index, ...args]);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toContain(names);
    expect(run.stdout).toBe('');
  });

  it('asks which image when the input holds a batch', () => {
    const run = runCli(['explain', '--model', model, '--input', input]);
    expect(run.code).toBe(2);
    expect(run.messages[0]).toContain('--image-index 0..1');
  });
});
