import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'moxi-setsum-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const root = fileURLToPath(new URL('../../../', import.meta.url));

function labels(folder: string): Array<{ file: string; label: number; digits: number[] }> {
  return readFileSync(join(folder, 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((line) => {
    const [file, label, ...digits] = line.split(',');
    return { file: file!, label: Number(label), digits: digits.map(Number) };
  });
}

describe('moxi setsum generate', () => {
  it('writes labelled 56x56 composites; test images repeat their largest digit exactly twice', () => {
    const out = join(dir, 'data');
    const run = runCli(['setsum', 'generate', '--out', out, '--train', '30', '--test', '20', '--seed', '5', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).counts).toEqual({ train: 30, test: 20 });
    const test = labels(join(out, 'test'));
    expect(test).toHaveLength(20);
    for (const row of test) {
      const max = Math.max(...row.digits);
      expect(row.digits.filter((d) => d === max)).toHaveLength(2);
      expect(row.label).toBe([...new Set(row.digits)].reduce((a, b) => a + b, 0));
      const png = PNG.sync.read(readFileSync(join(out, 'test', row.file)));
      expect([png.width, png.height]).toEqual([56, 56]);
    }
    expect(labels(join(out, 'train'))).toHaveLength(30);
    expect(existsSync(join(out, 'test.partial'))).toBe(false);
  });

  it('Ctrl-C in the second split stops at once (exit 130) and leaves no split, no partial folder and no manifest', async () => {
    const out = join(dir, 'interrupted');
    const child = spawn(process.execPath, [CLI, 'setsum', 'generate', '--out', out, '--train', '300', '--test', '40000'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The train split is whole (in train.partial) and the test split under way.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(join(out, 'test.partial', '000100.png'))) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
      void exited.then(() => {
        clearInterval(timer);
        reject(new Error(`generate ended before the test could stop it: ${stderr}`));
      });
    });
    const stoppedAt = performance.now();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    // Within a few dozen images, not after the other 39,900.
    expect(performance.now() - stoppedAt).toBeLessThan(5000);
    expect(stderr).toMatch(/moxi: stopped by SIGINT/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('is reproducible by seed', () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    for (const out of [a, b]) expect(runCli(['setsum', 'generate', '--out', out, '--train', '0', '--test', '5', '--seed', '9']).code).toBe(0);
    expect(readFileSync(join(a, 'test', 'labels.csv'), 'utf8')).toBe(readFileSync(join(b, 'test', 'labels.csv'), 'utf8'));
    expect(readFileSync(join(a, 'test', '000003.png')).equals(readFileSync(join(b, 'test', '000003.png')))).toBe(true);
  });
});

describe('moxi setsum evaluate', () => {
  it.each(['setsum-vit', 'setsum-resnet18'])('%s on the bundled examples: curves agree with the definitions', (name) => {
    const run = runCli(['setsum', 'evaluate', '--model', join(root, 'models', name), '--data', join(root, 'examples', 'setsum'), '--methods', 'moxi-insertion,moxi-deletion,shapley-self,gradcam', '--json']);
    expect(run.messages).toEqual([]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.evaluated).toBe(labels(join(root, 'examples', 'setsum')).length);
    expect(report.explained).toBeGreaterThan(0);
    expect(report.rows).toHaveLength(4);
    for (const row of report.rows) {
      expect(row.images).toBe(report.explained);
      // Explained images are classified correctly: whole image right, nothing removed right.
      expect(row.insertionAccuracy[4]).toBe(1);
      expect(row.deletionAccuracy[0]).toBe(1);
      expect(row.insertionPatches).toBeGreaterThanOrEqual(1);
      expect(row.insertionPatches).toBeLessThanOrEqual(4);
      expect(row.deletionPatches).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('moxi explain with no model or input', () => {
  it('explains a bundled SET-SUM image with the bundled ViT and writes the heatmap', () => {
    const out = join(dir, 'demo.png');
    const run = runCli(['explain', '--out', out]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Visual SET-SUM');
    expect(run.stdout).toMatch(/The model answers \d+ \(correct\)/);
    expect(PNG.sync.read(readFileSync(out)).width).toBeGreaterThanOrEqual(448);
  });

  it('finds its demo next to the bundle from any folder, and writes moxi-explanation.png there', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'moxi-demo-cwd-'));
    try {
      const run = runCli(['explain'], {}, elsewhere);
      expect(run.code).toBe(0);
      expect(run.messages.join('\n')).toContain(join(dirname(CLI), 'demo', 'models', 'setsum-vit'));
      // 000008.png shows 9 1 / 3 9: MoXI takes one copy of each distinct digit (cells 3, 1, 2).
      expect(run.stdout).toContain('MoXI chose cells 3, 1, 2, holding digits 9, 1, 3: no duplicate');
      expect(PNG.sync.read(readFileSync(join(elsewhere, 'moxi-explanation.png'))).width).toBeGreaterThanOrEqual(448);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('moxi --version', () => {
  it('prints the version of the package', () => {
    const run = runCli(['--version']);
    expect(run.code).toBe(0);
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(run.stdout.trim()).toBe(manifest.version);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
