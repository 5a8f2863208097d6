import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { materializeGoldenFolder, resnetGoldenFolders, VIT_FIXTURES } from '@moxi/kernels/testing';
import { runCli } from './run-cli.ts';

// `moxi explain` on the small ViT fixture (4x4 = 16 patch tokens).
const dir = mkdtempSync(join(tmpdir(), 'moxi-explain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
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
  ] as const)('%s %j: contract fields and its evaluation count', (method, extra, evaluations) => {
    const r = explain(['--method', method, ...extra]);
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
    expect(r.order).toHaveLength(c);
    expect(r.rewards).toHaveLength(c);
    let expected = 0;
    for (let t = 1; t <= c; t++) expected += N - t + 1;
    expect(r.evaluations).toBe(expected);
    // Heatmap weights: rank r < c weighs c - r.
    r.order!.forEach((p, rank) => expect(r.scores[p]).toBe(c - rank));
  });

  it('moxi-deletion --stop full ranks every patch: N(N+1)/2 evaluations, one reward per step', () => {
    const r = explain(['--method', 'moxi-deletion']);
    expect([...r.order!].sort((a, b) => a - b)).toEqual([...Array(N).keys()]);
    expect(r.rewards).toHaveLength(N);
    expect(r.evaluations).toBe((N * (N + 1)) / 2);
  });

  it('off a terminal, progress is plain lines on stderr that end at the total', () => {
    const run = runCli(['explain', '--model', model, '--input', input, '--image-index', '0', '--json', '--method', 'moxi-deletion']);
    expect(run.code).toBe(0);
    const total = (N * (N + 1)) / 2;
    expect(run.progress.length).toBeGreaterThan(0);
    expect(run.progress.every((l) => l.startsWith('moxi-deletion: ') && !l.includes('\r'))).toBe(true);
    expect(run.progress.at(-1)).toMatch(new RegExp(`^moxi-deletion: ${total}/${total} `));
  });

  it('explains another class with the class-discriminative reward', () => {
    const predicted = explain(['--method', 'shapley-full']).predicted;
    const other = (predicted + 1) % 10;
    const r = explain(['--method', 'shapley-full', '--target', String(other)]);
    expect(r.target).toBe(other);
    expect(r.predicted).toBe(predicted);
  });

  it('writes a PNG heatmap at least 448 px wide with --out', () => {
    const out = join(dir, 'heatmap.png');
    explain(['--method', 'moxi-insertion', '--out', out]);
    const png = PNG.sync.read(readFileSync(out));
    expect(png.width).toBeGreaterThanOrEqual(448);
    expect(png.width).toBe(png.height);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});

describe('moxi explain --method gradcam | rollout matches PyTorch (5e-3 after dividing by the max)', () => {
  const golden = JSON.parse(readFileSync(new URL('../../../packages/attrib/test/fixtures/gradcam-rollout.json', import.meta.url), 'utf8'));
  const expectMap = (got: number[], want: number[]) => {
    const max = Math.max(...got);
    got.forEach((v, i) => expect(Math.abs(v / max - want[i]!)).toBeLessThan(5e-3));
  };

  it.each([
    ['gradcam', [], 'plain'],
    ['gradcam', ['--eigen-smooth'], 'eigenSmooth'],
  ] as const)('ViT %s %j', (method, flags, variant) => {
    const r = explain(['--method', method, ...flags]);
    expect(r.grid).toEqual([4, 4]);
    expectMap(r.scores, golden.vit.gradcam[variant]);
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
    [['--method', 'lime'], '--method'],
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
    const run = runCli(['explain', '--model', model, '--input', input, '--image-index', '0', ...args]);
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
