import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

// Class names in `moxi explain`: --target by label name, ImageFolder inputs keeping their
// class folders in --out-dir, names beside indices in the text output (issue 19).
const REPO = join(import.meta.dirname, '..', '..', '..');
const TINY = join(REPO, 'examples', 'tiny-vit'); // CIFAR-10 names: 3 is "cat", 5 is "dog"
const DEMO = join(REPO, 'examples', 'images', 'demo.png');
const SETSUM = join(REPO, 'models', 'setsum-vit'); // labels "0".."30"
const SETSUM_IMAGES = join(REPO, 'examples', 'setsum');
const dir = mkdtempSync(join(tmpdir(), 'moxi-explain-names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Report {
  input: string;
  predicted: number;
  predictedLabel: string | null;
  target: number;
  targetLabel: string | null;
}

function explain(args: string[]): Report {
  const run = runCli(['explain', '--model', TINY, '--input', DEMO, '--method', 'gradcam', '--json', ...args]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Report;
}

describe('moxi explain --target NAME', () => {
  it('takes a label name of the model as well as an index', () => {
    const byName = explain(['--target', 'dog']);
    expect([byName.target, byName.targetLabel]).toEqual([5, 'dog']);
    const byIndex = explain(['--target', '5']);
    expect([byIndex.target, byIndex.targetLabel]).toEqual([5, 'dog']);
  });

  it('digits are an index, as in evaluate\'s CSV (SET-SUM names its classes "0".."30")', () => {
    const run = runCli(['explain', '--model', SETSUM, '--input', join(SETSUM_IMAGES, '000000.png'), '--method', 'gradcam', '--target', '13', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as Report).target).toBe(13);
  });

  it.each<[string, string, string[]]>([
    ['an unknown name', 'kitty', ['--target: "kitty" is neither a class index (0..9) nor one of the model\'s 10 label names ("airplane", "automobile", "bird", "cat", "deer", ...)']],
    ['a name in the wrong case', 'Cat', ['did you mean "cat"?']],
    ['an index past the classes', '10', ['--target: class 10 is out of range (the model has 10 classes: 0..9)']],
  ])('refuses %s with exit 2, naming the flag and valid names', (_, target, parts) => {
    const run = runCli(['explain', '--model', TINY, '--input', DEMO, '--method', 'gradcam', '--target', target]);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    for (const part of parts) expect(run.messages[0]).toContain(part);
  });

  it('--help says so', () => {
    const run = runCli(['explain', '--help']);
    expect(run.stdout.replace(/\s+/g, ' ')).toContain('digits always mean an index');
  });
});

describe('moxi explain --input IMAGEFOLDER --out-dir D', () => {
  const data = join(dir, 'data');
  const files = readdirSync(SETSUM_IMAGES).filter((f) => f.endsWith('.png')).sort();
  // One subfolder per class, as torchvision's ImageFolder; the same file name in two classes.
  const layout: Array<[string, string]> = [['3', files[0]!], ['3', files[1]!], ['7', files[0]!], ['7/more', files[2]!]];
  for (const [folder, file] of layout) {
    mkdirSync(join(data, folder), { recursive: true });
    cpSync(join(SETSUM_IMAGES, file), join(data, folder, file));
  }
  const stem = (f: string) => f.replace(/\.png$/, '');
  const names = layout.map(([folder, file]) => `${folder}/${stem(file)}`);

  it('explains the images in the class folders and keeps the folders in --out-dir', () => {
    const out = join(dir, 'out');
    const run = runCli(['explain', '--model', SETSUM, '--input', data, '--out-dir', out, '--method', 'gradcam', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout) as { images: Array<Report & { heatmap: string }> };
    expect(printed.images.map((r) => r.input)).toEqual(layout.map(([folder, file]) => join(data, folder, file)));
    expect(printed.images.map((r) => r.heatmap)).toEqual(names.map((n) => join(out, `${n}.png`)));
    for (const name of names) {
      for (const ext of ['.png', '.json', '.scores.npy']) expect(existsSync(join(out, `${name}${ext}`)), `${name}${ext}`).toBe(true);
    }
    const csv = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n').slice(1);
    expect(csv.map((row) => row.split(',')[2])).toEqual(names);
  });

  it('an --out-dir inside the input folder is not read back as input', () => {
    const out = join(data, 'explained');
    for (let pass = 0; pass < 2; pass++) {
      const run = runCli(['explain', '--model', SETSUM, '--input', data, '--out-dir', out, '--method', 'gradcam', '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as { images: unknown[] }).images).toHaveLength(layout.length);
    }
    rmSync(out, { recursive: true });
  });
});

describe('moxi explain: class names beside indices in the text output', () => {
  it('one image: the prediction, the target and the stop rule', () => {
    const run = runCli(['explain', '--model', TINY, '--input', DEMO, '--method', 'moxi-insertion', '--target', '5']);
    expect(run.code, run.stderr).toBe(0);
    const { predicted, predictedLabel } = explain([]);
    expect(run.stdout).toContain(`predicted ${predicted} (${predictedLabel}); explaining 5 (dog) with moxi-insertion`);
    expect(run.stdout).toMatch(/the prediction was (never )?5 \(dog\)/);
  });

  it('--out-dir: one line per image with names', () => {
    const data = join(dir, 'cifar');
    mkdirSync(data);
    cpSync(DEMO, join(data, 'demo.png'));
    const run = runCli(['explain', '--model', TINY, '--input', data, '--out-dir', join(dir, 'cifar-out'), '--method', 'gradcam', '--target', '3']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/demo\.png: predicted \d \([a-z]+\), explained 3 \(cat\), /);
  });

  it('SET-SUM, whose names are the indices, shows no "13 (13)"', () => {
    const run = runCli(['explain', '--model', SETSUM, '--input', join(SETSUM_IMAGES, '000000.png'), '--method', 'gradcam', '--target', '13']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('explaining 13 with gradcam');
  });
});
