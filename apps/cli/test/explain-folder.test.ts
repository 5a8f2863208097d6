import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy } from '@moxi/kernels';
import { runCli } from './run-cli.ts';

// `moxi explain --input FOLDER --out-dir D` on the bundled SET-SUM examples and ViT.
const REPO = join(import.meta.dirname, '..', '..', '..');
const MODEL = join(REPO, 'models', 'setsum-vit');
const EXAMPLES = join(REPO, 'examples', 'setsum');
const dir = mkdtempSync(join(tmpdir(), 'moxi-explain-folder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const images = readdirSync(EXAMPLES).filter((f) => f.endsWith('.png')).sort();
const stem = (f: string) => f.replace(/\.png$/, '');

interface ImageReport {
  input: string;
  predicted: number;
  target: number;
  grid: [number, number];
  scores: number[];
  order?: number[];
  stopStep?: number;
  evaluations: number;
}

describe('moxi explain --input FOLDER --out-dir D', () => {
  it.each(['moxi-insertion', 'gradcam'])('%s: a heatmap, a JSON and raw scores per image, and summary.csv', (method) => {
    const out = join(dir, method);
    const run = runCli(['explain', '--model', MODEL, '--input', EXAMPLES, '--out-dir', out, '--method', method, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.messages).toEqual([]);
    const printed = JSON.parse(run.stdout) as { outDir: string; images: ImageReport[] };
    expect(printed.images.map((r) => r.input)).toEqual(images.map((f) => join(EXAMPLES, f)));
    expect(images.length).toBe(16);
    const csv = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('image,row,name,predicted,target,method,grid,evaluations,seconds,stop_step,stop_held,ranking');
    expect(csv).toHaveLength(images.length + 1);
    images.forEach((file, k) => {
      const name = stem(file);
      const report = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as ImageReport;
      expect(report).toEqual(printed.images[k]);
      const scores = parseNpy(new Uint8Array(readFileSync(join(out, `${name}.scores.npy`))), name);
      expect(scores.shape).toEqual([2, 2]);
      expect(Array.from(scores.data)).toEqual(Array.from(Float32Array.from(report.scores)));
      const png = PNG.sync.read(readFileSync(join(out, `${name}.png`)));
      expect(png.width).toBeGreaterThanOrEqual(448);
      const row = csv[k + 1]!.split(',');
      expect(row[2]).toBe(name);
      expect(Number(row[3])).toBe(report.predicted);
      const ranking = report.order ?? report.scores.map((s, i) => [s, i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]).map(([, i]) => i);
      expect(row[11]).toBe(ranking.join(' '));
    });
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('images sharing forward passes get what each gets alone (orders identical, scores within 1e-5)', () => {
    const out = join(dir, 'moxi-insertion');
    for (const file of [images[1]!, images[7]!]) {
      const alone = runCli(['explain', '--model', MODEL, '--input', join(EXAMPLES, file), '--method', 'moxi-insertion', '--json']);
      expect(alone.code).toBe(0);
      const single = JSON.parse(alone.stdout) as ImageReport;
      const shared = JSON.parse(readFileSync(join(out, `${stem(file)}.json`), 'utf8')) as ImageReport;
      expect(shared.order).toEqual(single.order);
      expect(shared.evaluations).toBe(single.evaluations);
      expect(shared.scores).toHaveLength(4);
      shared.scores.forEach((s, i) => expect(Math.abs(s - single.scores[i]!)).toBeLessThan(1e-5));
    }
  });

  it.each([
    [[EXAMPLES], '--out-dir'],
    [[EXAMPLES, '--out-dir', join(dir, 'x'), '--out', join(dir, 'x.png')], '--out: names one heatmap'],
    [[join(dir, 'no-images')], 'holds no PNG, JPEG or .npy file'],
    [[join(dir, 'missing.png')], 'missing.png: does not exist'],
    [[join(EXAMPLES, images[0]!), join(EXAMPLES, images[1]!), '--image-index', '0', '--out-dir', join(dir, 'y')], '--image-index: picks a row of one .npy input'],
  ])('refuses %j with exit 2 and one line', (args, message) => {
    mkdirSync(join(dir, 'no-images'), { recursive: true });
    writeFileSync(join(dir, 'no-images', 'notes.txt'), 'no images here');
    const run = runCli(['explain', '--model', MODEL, '--input', ...args]);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toContain(message);
    expect(run.stdout).toBe('');
  });
});

describe('players a model folder declares (config.json "moxi": { "grid": G })', () => {
  const resnet = join(REPO, 'models', 'setsum-resnet18');
  const image = join(EXAMPLES, images[8]!);

  it('the bundled SET-SUM ResNet explains its 2 x 2 digit cells by default; --grid overrides', () => {
    const declared = runCli(['explain', '--model', resnet, '--input', image, '--method', 'shapley-full', '--json']);
    expect(declared.code, declared.stderr).toBe(0);
    expect(JSON.parse(declared.stdout).grid).toEqual([2, 2]);
    const given = runCli(['explain', '--model', resnet, '--input', image, '--method', 'shapley-self', '--grid', '4', '--json']);
    expect(JSON.parse(given.stdout).grid).toEqual([4, 4]);
    expect(JSON.parse(runCli(['inspect', '--model', resnet, '--json']).stdout).declaredGrid).toBe(2);
  });

  it.each([[{ grid: 0 }, '"moxi.grid" must be a positive integer'], ['2x2', '"moxi" must be an object']])('refuses moxi section %j naming config.json', (section, message) => {
    const folder = join(dir, `declared-${JSON.stringify(section).replace(/\W/g, '')}`);
    cpSync(resnet, folder, { recursive: true });
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, moxi: section }));
    const run = runCli(['explain', '--model', folder, '--input', image]);
    expect(run.code).toBe(2);
    expect(run.messages).toEqual([expect.stringContaining(`config.json: ${message}`)]);
  });
});
