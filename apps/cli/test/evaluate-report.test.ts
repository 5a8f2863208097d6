import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from './run-cli.ts';

const root = mkdtempSync(join(tmpdir(), 'moxi-evaluate-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// N = 2 players: every curve has 3 points and AUC = (y0 + 2 y1 + y2) / 4.
function record(image: string, method: string, perturbation: string, curves: { insertion?: [number[], number[]]; deletion: [number[], number[]] }, extra: object = {}) {
  const curve = ([correct, probability]: [number[], number[]]) => ({ correct, probability });
  return {
    image, label: 1, predicted: 1, method, perturbation, players: 2, insertionOrder: [0, 1], deletionOrder: [0, 1],
    ...(curves.insertion ? { insertion: curve(curves.insertion) } : {}),
    deletion: curve(curves.deletion), evaluations: 3, seconds: 0.5, ...extra,
  };
}

const jsonl = (records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

function writeEvaluation(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'evaluation.json'), JSON.stringify({ model: 'models/setsum-vit-patch8', data: 'examples/setsum', grid: 7, methods: ['moxi', 'random'], extra: { any: 1 } }));
  writeFileSync(join(dir, 'records-0-of-2.jsonl'), jsonl([
    record('a.png', 'moxi', 'mask', { insertion: [[0, 1, 1], [0.1, 0.6, 0.9]], deletion: [[1, 0, 0], [0.9, 0.3, 0.1]] }),
    record('a.png', 'random', 'mask', { insertion: [[0, 0, 1], [0.1, 0.3, 0.7]], deletion: [[1, 1, 0], [0.9, 0.7, 0.2]] }, { evaluations: 0, seconds: 0 }),
    record('a.png', 'moxi', 'pgd', { deletion: [[1, 0, 0], [0.9, 0.2, 0]] }, { perturbationNorms: [2, 1] }),
  ]) + '{"image": "b.png", "label": 1, "method": "ran'); // torn by a kill
  writeFileSync(join(dir, 'records-1-of-2.jsonl'), jsonl([
    record('b.png', 'moxi', 'mask', { insertion: [[0, 0, 1], [0.2, 0.2, 0.8]], deletion: [[1, 0, 0], [0.8, 0.6, 0.2]] }, { evaluations: 5, seconds: 1.5 }),
    { image: 'c.png', label: 4, error: 'not a PNG or JPEG' },
    // Written twice (a rerun that should not happen): the first line, in shard 0, counts.
    record('a.png', 'moxi', 'mask', { insertion: [[1, 1, 1], [1, 1, 1]], deletion: [[1, 1, 1], [1, 1, 1]] }),
    record('b.png', 'moxi', 'pgd', { deletion: [[1, 1, 0], [0.7, 0.4, 0]] }, { perturbationNorms: [4, 3] }),
  ]).trimEnd()); // a whole last line that lost only its newline still counts
}

describe('moxi evaluate report', () => {
  const dir = join(root, 'run');
  let text: CliRun;
  beforeAll(() => {
    writeEvaluation(dir);
    text = runCli(['evaluate', 'report', dir]);
  });

  it('merges the shards, skipping the torn last line and counting a repeated line once (said on stderr)', () => {
    expect(text.code).toBe(0);
    expect(text.messages).toEqual([
      `moxi: ${join(dir, 'records-0-of-2.jsonl')}: ignored its torn last line (left by a killed run)`,
      `moxi: ${dir}: 1 line(s) repeat an earlier image, method and perturbation and were counted once (first: ${join(dir, 'records-1-of-2.jsonl')} line 3, a.png)`,
      'moxi: warning: 1 image could not be read and is left out of every curve (listed below the table).',
      'moxi: warning: The rows are not over the same images (moxi mask 2, moxi pgd 2, random mask 1): compare their curves with care.',
      'moxi: warning: the patch-selection figures were not drawn: examples/setsum (named in evaluation.json) is not on this machine, so the images cannot be drawn',
    ]);
    expect(readdirSync(dir).sort()).toEqual(['curves.csv', 'curves.png', 'curves.svg', 'evaluation.json', 'records-0-of-2.jsonl', 'records-1-of-2.jsonl', 'runtime.csv', 'summary.md']);
  });

  it('writes summary.md with the model, images, AUCs, costs and error lines, and prints it with the paths', () => {
    const md = readFileSync(join(dir, 'summary.md'), 'utf8');
    const rows = md.split('\n');
    expect(rows[0]).toBe('# models/setsum-vit-patch8: 2 images, 2 patches each');
    expect(rows).toContain('| moxi | mask | 2 | 0.500 | 0.250 | 0.450 | 0.475 | 4 | 1.00 |');
    expect(rows).toContain('| moxi | pgd | 2 | – | 0.500 | – | 0.350 | 3 | 0.500 |');
    expect(rows).toContain('| random | mask | 1 | 0.250 | 0.750 | 0.350 | 0.625 | 0 | 0.00 |');
    expect(rows).toContain('Images that could not be read: 1: c.png (not a PNG or JPEG).');
    expect(rows).toContain('| moxi | 3.000 | 2.000 |');
    expect(text.stdout.startsWith(md)).toBe(true);
    expect(text.stdout).toContain(`wrote ${join(dir, 'curves.png')}`);
  });

  it('writes curves.csv in long format with insertion, deletion and pgd-norm rows', () => {
    const csv = readFileSync(join(dir, 'curves.csv'), 'utf8').trimEnd().split('\n');
    expect(csv[0]).toBe('method,perturbation,curve,patches,fraction,accuracy,probability,norm,images');
    expect(csv.slice(1, 7)).toEqual([
      'moxi,mask,insertion,0,0,0,0.15,,2',
      'moxi,mask,insertion,1,0.5,0.5,0.4,,2',
      'moxi,mask,insertion,2,1,1,0.85,,2',
      'moxi,mask,deletion,0,0,1,0.85,,2',
      'moxi,mask,deletion,1,0.5,0,0.45,,2',
      'moxi,mask,deletion,2,1,0,0.15,,2',
    ]);
    expect(csv).toContain('moxi,pgd,pgd-norm,1,0.5,,,3,2');
    expect(csv).toContain('moxi,pgd,pgd-norm,2,1,,,2,2');
    expect(csv.filter((l) => l.startsWith('random,mask,'))).toHaveLength(6);
    expect(csv).toHaveLength(1 + 6 + 3 + 2 + 6);
  });

  it('draws curves.svg with Vega: methods, panel and axis titles, the model in the title', () => {
    const svg = readFileSync(join(dir, 'curves.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['moxi (AUC 0.500)', 'random (AUC 0.250)', 'moxi (AUC 0.450)', 'setsum-vit-patch8: insertion and deletion curves, 2 images',
      '(a) insertion: accuracy, n = 1-2', '(b) insertion: probability, n = 1-2', '(c) deletion: accuracy, n = 1-2', '(d) deletion: probability, n = 1-2',
      '(e) deletion, pgd: accuracy, n = 2', '(f) deletion, pgd: probability, n = 2', '(g) PGD perturbation norm per patch, n = 2',
      'fraction of patches inserted', 'fraction of patches deleted', 'top-1 accuracy', 'label probability', 'mean L2 norm', 'method (band: 95% Wilson)']) {
      expect(svg).toContain(text);
    }
    expect(svg).toContain('font-family="DejaVu Sans"');
  });

  it('renders curves.png at twice the SVG size, with text and one colour per method', () => {
    const svg = readFileSync(join(dir, 'curves.svg'), 'utf8');
    const [, width, height] = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg)!;
    const png = PNG.sync.read(readFileSync(join(dir, 'curves.png')));
    expect([png.width, png.height]).toEqual([2 * Number(width), 2 * Number(height)]);
    expect(png.width).toBeGreaterThan(1000);
    const count = (r: number, g: number, b: number) => {
      let n = 0;
      for (let i = 0; i < png.data.length; i += 4) {
        if (Math.abs(png.data[i]! - r) + Math.abs(png.data[i + 1]! - g) + Math.abs(png.data[i + 2]! - b) < 24) n += 1;
      }
      return n;
    };
    const pixels = png.width * png.height;
    expect(count(255, 255, 255)).toBeGreaterThan(0.5 * pixels); // background
    expect(count(0x00, 0x00, 0x00)).toBeGreaterThan(2000); // title and text
    expect(count(0xd6, 0x27, 0x28)).toBeGreaterThan(500); // moxi lines and legend
    expect(count(0x7f, 0x7f, 0x7f)).toBeGreaterThan(300); // random, dashed
  });

  it('--json prints the summary as one JSON document and writes the same files', () => {
    const run = runCli(['evaluate', 'report', dir, '--json']);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.model).toBe('models/setsum-vit-patch8');
    expect([summary.players, summary.images, summary.errors.length]).toEqual([2, 2, 1]);
    const moxi = summary.rows[0];
    expect([moxi.method, moxi.perturbation, moxi.images, moxi.evaluations, moxi.seconds]).toEqual(['moxi', 'mask', 2, 4, 1]);
    expect(moxi.insertion.accuracy).toEqual([0, 0.5, 1]);
    expect(moxi.deletion.accuracyAuc).toBe(0.25);
    expect(summary.rows[1].perturbationNorms).toEqual([3, 2]);
    expect(summary.files.png).toBe(join(dir, 'curves.png'));
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });
});

describe('moxi evaluate report: bad input exits 2 with one line naming it', () => {
  const bad = (name: string, files: Record<string, string>) => {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    return dir;
  };
  const mask = (image: string, players: number) => {
    const curve = Array.from({ length: players + 1 }, (_, j) => (j === 0 ? 1 : 0));
    return record(image, 'moxi', 'mask', { insertion: [curve, curve], deletion: [curve, curve] }, { players });
  };

  it.each([
    ['a missing folder', () => join(root, 'nowhere'), (dir: string) => `moxi: ${dir}: no such folder`],
    ['a folder without records', () => bad('empty', { 'notes.txt': 'x' }), (dir: string) => `moxi: ${dir}: has no records-*.jsonl files`],
    [
      'an invalid line before the last',
      () => bad('invalid', { 'records-0.jsonl': `${jsonl([mask('a.png', 2)])}{"image": "b.png"\n${jsonl([mask('c.png', 2)])}` }),
      (dir: string) => `moxi: ${join(dir, 'records-0.jsonl')}: line 2 is not JSON`,
    ],
    [
      'a record that is not one',
      () => bad('shape', { 'records-0.jsonl': jsonl([mask('a.png', 2), { ...mask('b.png', 2), method: 'shapley-exact' }]) }),
      (dir: string) => `moxi: ${join(dir, 'records-0.jsonl')}: line 2: "method" "shapley-exact" is not one of`,
    ],
    [
      'records that disagree on N',
      () => bad('players', { 'records-0.jsonl': jsonl([mask('a.png', 2)]), 'records-1.jsonl': jsonl([mask('b.png', 3)]) }),
      (dir: string) => `moxi: ${dir}: records disagree on the number of players: a.png has 2, b.png has 3`,
    ],
  ])('%s', (_, makeDir, message) => {
    const dir = makeDir();
    const run = runCli(['evaluate', 'report', dir]);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]!.startsWith(message(dir))).toBe(true);
    expect(existsSync(join(dir, 'summary.md'))).toBe(false);
  });
});
