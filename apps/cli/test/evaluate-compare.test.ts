import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const root = mkdtempSync(join(tmpdir(), 'moxi-evaluate-compare-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const repo = resolve(import.meta.dirname, '../../..');

interface Line {
  image: string;
  method: string;
  players: number;
  insertion: number[];
  deletion: number[];
  seconds: number;
  order?: number[];
}

/** A mask record whose probability curve is half its accuracy curve. */
function record(l: Line) {
  const curve = (correct: number[]) => ({ correct, probability: correct.map((c) => c / 2) });
  const order = l.order ?? Array.from({ length: l.players }, (_, i) => i);
  return {
    image: l.image, label: 7, predicted: 7, method: l.method, perturbation: 'mask', players: l.players, insertionOrder: order, deletionOrder: order,
    insertion: curve(l.insertion), deletion: curve(l.deletion), evaluations: 4, seconds: l.seconds,
  };
}

function runFolder(name: string, config: object, lines: Line[]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'evaluation.json'), JSON.stringify({ shards: 1, ...config }));
  writeFileSync(join(dir, 'records-0-of-1.jsonl'), lines.map((l) => `${JSON.stringify(record(l))}\n`).join(''));
  return dir;
}

describe('moxi evaluate compare', () => {
  let k0: string;
  let k2: string;
  beforeAll(() => {
    k0 = runFolder('k0', { model: 'models/a' }, [
      { image: 'x.png', method: 'moxi', players: 2, insertion: [0, 1, 1], deletion: [1, 0, 0], seconds: 2 },
      { image: 'y.png', method: 'moxi', players: 2, insertion: [0, 0, 1], deletion: [1, 1, 0], seconds: 4 },
      { image: 'x.png', method: 'random', players: 2, insertion: [0, 0, 1], deletion: [1, 1, 0], seconds: 0 },
    ]);
    k2 = runFolder('k2', { model: 'models/b' }, [
      { image: 'x.png', method: 'moxi', players: 4, insertion: [0, 0, 1, 1, 1], deletion: [1, 1, 0, 0, 0], seconds: 8 },
      { image: 'x.png', method: 'random', players: 4, insertion: [0, 0, 0, 1, 1], deletion: [1, 0, 0, 0, 0], seconds: 0 },
    ]);
  });

  it('gives each run the AUCs and runtime of its own report', () => {
    const out = join(root, 'fig10');
    const run = runCli(['evaluate', 'compare', k0, k2, '--labels', 'k = 0,k = 2', '--out', out, '--json']);
    expect(run.code).toBe(0);
    const compared = JSON.parse(run.stdout) as { runs: Array<{ label: string; dir: string; rows: unknown[]; runtime: unknown[] }> };
    expect(compared.runs.map((r) => [r.label, r.dir])).toEqual([['k = 0', k0], ['k = 2', k2]]);
    for (const [i, dir] of [k0, k2].entries()) {
      const single = JSON.parse(runCli(['evaluate', 'report', dir, '--json', '--out', join(root, `single-${i}`)]).stdout) as { rows: unknown[]; runtime: unknown[] };
      expect(compared.runs[i]!.rows).toEqual(single.rows);
      expect(compared.runs[i]!.runtime).toEqual(single.runtime);
    }
    const md = readFileSync(join(out, 'compare.md'), 'utf8').split('\n');
    // k = 0: moxi insertion mean [0, 0.5, 1] -> 0.5; k = 2: [0, 0, 1, 1, 1] over 4 players -> 0.625.
    expect(md).toContain('| insertion | mask | moxi | 0.500 | 0.625 |');
    expect(md).toContain('| deletion | mask | random | 0.750 | 0.125 |');
    expect(md).toContain('| moxi | 3.00 | 8.00 |');
    const csv = readFileSync(join(out, 'compare.csv'), 'utf8').split('\n');
    expect(csv).toContain('k = 2,moxi,mask,insertion,1,0.25,0,0,1,0.625,0.3125');
    const png = PNG.sync.read(readFileSync(join(out, 'compare.png')));
    expect(png.width).toBeGreaterThan(1000);
    expect(readFileSync(join(out, 'compare.svg'), 'utf8')).toContain('k = 2 (AUC 0.625)');
  });

  it('labels runs by their folder names when --labels is left out', () => {
    const run = runCli(['evaluate', 'compare', k0, k2, '--out', join(root, 'by-name')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('| curve | perturbation | method | k0 | k2 |');
  });

  it.each([
    [['--labels', 'a'], '--labels: gives 1 names for 2 folders; give one per folder, separated by commas'],
    [['--labels', 'a,a'], '--labels: the name "a" is given to two runs; give --labels with one distinct name per folder'],
    [['--labels', 'a,'], '--labels: name 2 is empty; give one name per folder'],
  ])('refuses %j in one line, exit 2, writing nothing', (flags, message) => {
    const out = join(root, 'refused');
    const run = runCli(['evaluate', 'compare', k0, k2, ...flags, '--out', out]);
    expect(run.code).toBe(2);
    expect(run.messages).toEqual([`moxi: ${message}`]);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses one folder, a missing --out and a folder without records', () => {
    expect(runCli(['evaluate', 'compare', k0, '--out', join(root, 'x')]).messages).toEqual([`moxi: ${k0}: compare needs two or more run folders (one run: moxi evaluate report DIR)`]);
    expect(runCli(['evaluate', 'compare', k0, k2]).messages).toEqual(['moxi: --out: is required: the folder to write compare.md, compare.csv and the figure into']);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const run = runCli(['evaluate', 'compare', k0, empty, '--out', join(root, 'y')]);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toMatch(new RegExp(`^moxi: ${empty}: `));
    expect(existsSync(join(root, 'y'))).toBe(false);
  });
});

describe('moxi evaluate report: runtime table and patch selections', () => {
  const dir = join(root, 'setsum-run');
  let run: ReturnType<typeof runCli>;
  beforeAll(() => {
    // The bundled one-token ViT (4 players, the cells) on two example images, orders chosen by hand.
    runFolder('setsum-run', { model: join(repo, 'models/setsum-vit'), data: join(repo, 'examples/setsum') }, [
      { image: '000000.png', method: 'moxi', players: 4, order: [2, 0, 1, 3], insertion: [0, 0, 1, 1, 1], deletion: [1, 0, 0, 0, 0], seconds: 0.25 },
      { image: '000000.png', method: 'random', players: 4, order: [3, 1, 0, 2], insertion: [0, 0, 0, 0, 0], deletion: [1, 1, 1, 1, 1], seconds: 0.5 },
      { image: '000001.png', method: 'moxi', players: 4, order: [1, 3, 0, 2], insertion: [0, 1, 1, 1, 1], deletion: [1, 1, 0, 0, 0], seconds: 1 },
      { image: '000002.png', method: 'moxi', players: 4, insertion: [0, 1, 1, 1, 1], deletion: [1, 0, 0, 0, 0], seconds: 4 },
    ]);
    run = runCli(['evaluate', 'report', dir, '--selection-images', '2']);
  });

  it('prints each method\'s seconds per image from its records in summary.md and runtime.csv', () => {
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('| moxi | 3 | 1.75 | 1.00 | 4 | 0.57 |');
    expect(readFileSync(join(dir, 'runtime.csv'), 'utf8').split('\n')).toEqual([
      'method,images,mean_seconds,median_seconds,evaluations_per_image,images_per_second',
      'moxi,3,1.75,1,4,0.571429',
      'random,1,0.5,0.5,4,2',
      '',
    ]);
  });

  it('draws the first images\' inserted and deleted patches per method, on the images', () => {
    expect(run.messages).toEqual(['moxi: warning: The rows are not over the same images (moxi mask 3, random mask 1): compare their curves with care.']);
    const insertion = readFileSync(join(dir, 'selection-insertion.svg'), 'utf8');
    const deletion = readFileSync(join(dir, 'selection-deletion.svg'), 'utf8');
    // 000000: moxi inserts [2, 0], random never right; 000001: moxi inserts [1]. 000002 is past --selection-images.
    expect([...insertion.matchAll(/stroke="#1a9850" stroke-width="2"/g)]).toHaveLength(3);
    expect(insertion).toContain('>never right</text>');
    expect(insertion).not.toContain('000002.png');
    expect([...insertion.matchAll(/<image /g)]).toHaveLength(4);
    // Deletion: 000000 moxi deletes [2]; random never wrong; 000001 moxi deletes [1, 3].
    expect([...deletion.matchAll(/stroke="#d73027" stroke-width="2"/g)]).toHaveLength(3);
    expect(deletion).toContain('>never wrong</text>');
    expect(deletion).toContain('>no record</text>'); // random has no record of 000001
    for (const name of ['selection-insertion.png', 'selection-deletion.png']) {
      const png = PNG.sync.read(readFileSync(join(dir, name)));
      expect([png.width, png.height]).toEqual([150 + 2 * 146 + 14, 92 + 2 * 164 + 14]);
    }
  });
});
