import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const root = mkdtempSync(join(tmpdir(), 'moxi-evaluate-report-warnings-'));
const immutable: string[] = [];
afterAll(() => {
  for (const dir of immutable) spawnSync('chattr', ['-i', dir]);
  for (const dir of immutable) chmodSync(dir, 0o755);
  rmSync(root, { recursive: true, force: true });
});

// N = 2 players, mask only: 3 points per curve.
function mask(image: string, method = 'moxi') {
  const curve = { correct: [1, 0, 0], probability: [0.9, 0.4, 0.1] };
  return { image, label: 1, predicted: 1, method, perturbation: 'mask', players: 2, insertionOrder: [0, 1], deletionOrder: [0, 1], insertion: { correct: [0, 1, 1], probability: [0.1, 0.6, 0.9] }, deletion: curve, evaluations: 3, seconds: 0.5 };
}
const jsonl = (records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

function runFolder(name: string, config: object, files: Record<string, string | object>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'evaluation.json'), JSON.stringify({ model: 'models/setsum-vit-patch8', methods: ['moxi'], perturbations: [], ...config }));
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

function shardFile(shard: string, fields: object) {
  return { shard, adapter: 'NVIDIA H100 80GB HBM3', software: false, host: 'node-1', images: 2, finished: 2, complete: true, updatedAt: '2026-12-07T06:00:00.000Z', ...fields };
}

/** Runs the report with and without --json; returns the warnings each way and summary.md's head. */
function report(dir: string) {
  const text = runCli(['evaluate', 'report', dir, '--selection-images', '0']);
  expect(text.code).toBe(0);
  const json = runCli(['evaluate', 'report', dir, '--json', '--selection-images', '0']);
  expect(json.code).toBe(0);
  const summary = JSON.parse(json.stdout) as { warnings: string[]; shards?: Array<{ shard: string; adapter?: string; software?: boolean }> };
  const md = readFileSync(join(dir, 'summary.md'), 'utf8');
  const stderr = text.messages.filter((m) => m.startsWith('moxi: warning: ')).map((m) => m.slice('moxi: warning: '.length));
  return { summary, md, stderr };
}

/** summary.md lists the warnings right below its heading, before the table. */
function mdWarnings(md: string): string[] {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => /^\*\*Warnings?:\*\*$/.test(l));
  if (start === -1) return [];
  expect(start).toBe(2);
  const table = lines.findIndex((l) => l.startsWith('| method |'));
  expect(table).toBeGreaterThan(start);
  return lines.slice(start + 1, table).filter((l) => l.startsWith('- ')).map((l) => l.slice(2));
}

describe('moxi evaluate report: says what the records do not cover', () => {
  it('one of two shards: names the missing shard in summary.md, --json and stderr', () => {
    const dir = runFolder('one-of-two', { shards: 2, selection: { images: 4 } }, { 'records-0-of-2.jsonl': jsonl([mask('a.png'), mask('c.png')]) });
    const { summary, md, stderr } = report(dir);
    const expected = 'Shard 1/2 has no records file (records-1-of-2.jsonl): this report covers 1 of 2 shards, not the whole selection.';
    expect(summary.warnings).toEqual([expected]);
    expect(mdWarnings(md)).toEqual([expected]);
    expect(stderr).toEqual([expected]);
    expect(md.split('\n')[0]).toBe('# models/setsum-vit-patch8: 2 images, 2 patches each');
    expect(readFileSync(join(dir, 'curves.svg'), 'utf8')).toContain(`Warning: ${expected}`);
  });

  it('a run killed after 2 of 5 images (shard-0-of-1.json): says how far it got, and that it ran on a software rasteriser', () => {
    const dir = runFolder('killed', { shards: 1, selection: { images: 5 } }, {
      'records-0-of-1.jsonl': jsonl([mask('a.png'), mask('b.png')]),
      'shard-0-of-1.json': shardFile('0/1', { adapter: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true, images: 5, finished: 2, complete: false }),
    });
    const { summary, md, stderr } = report(dir);
    const expected = [
      'Shard 0/1 has records for 2 of its 5 selected images (its run stopped or is still running; shard-0-of-1.json was updated 2026-12-07T06:00:00.000Z); rerun its moxi evaluate command to finish it.',
      'This run ran on a software rasteriser (llvmpipe (LLVM 15.0.6, 256 bits)): seconds per image are CPU timings, not a GPU\'s.',
    ];
    expect(summary.warnings).toEqual(expected);
    expect(mdWarnings(md)).toEqual(expected);
    expect(stderr).toEqual(expected);
    expect(summary.shards).toEqual([{ shard: '0/1', records: true, recordImages: 2, adapter: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true, host: 'node-1', images: 5, finished: 2, complete: false, updatedAt: '2026-12-07T06:00:00.000Z' }]);
    expect(md).toContain('| 0/1 | llvmpipe (LLVM 15.0.6, 256 bits) (software) | node-1 | 5 | 2 | no (2 done) | 2026-12-07T06:00:00.000Z |');
    // The figure repeats what its curves miss, not the timing note.
    const svg = readFileSync(join(dir, 'curves.svg'), 'utf8');
    expect(svg).toContain('Warning: Shard 0/1 has records for 2 of its 5 selected images');
    expect(svg).not.toContain('software rasteriser');
  });

  it('an older folder (no shard-*.json): fewer images than evaluation.json selected', () => {
    const dir = runFolder('older', { shards: 1, selection: { images: 5 } }, { 'records-0-of-1.jsonl': jsonl([mask('a.png'), mask('b.png')]) });
    const { summary } = report(dir);
    expect(summary.warnings).toEqual([
      '2 of the 5 images selected (evaluation.json) have records: the run stopped early, is still running, or the data set has fewer images the model classifies correctly; rerun the same command to resume.',
    ]);
    expect(summary.shards).toBeUndefined();
  });

  it('failed images, mixed settings, and shards on different adapters', () => {
    const dir = runFolder('mixed', { shards: 2 }, {
      'records-0-of-2.jsonl': jsonl([mask('a.png'), mask('a.png', 'random'), { image: 'x.png', label: 3, error: 'not a PNG or JPEG' }]),
      'records-1-of-2.jsonl': jsonl([mask('b.png')]),
      'records-0-of-4.jsonl': jsonl([mask('d.png')]),
      'shard-0-of-2.json': shardFile('0/2', {}),
      'shard-1-of-2.json': shardFile('1/2', { adapter: 'AMD Instinct MI300X', host: 'node-2', images: 1, finished: 1 }),
    });
    const { summary, md } = report(dir);
    expect(summary.warnings).toEqual([
      'Mixed settings: records-0-of-4.jsonl is from a run with another shard count than the 2 of evaluation.json; their records are included.',
      '1 image could not be read and is left out of every curve (listed below the table).',
      'Mixed settings: records hold a method not in evaluation.json: random.',
      'The rows are not over the same images (moxi mask 3, random mask 1): compare their curves with care.',
      'The shards ran on different adapters: NVIDIA H100 80GB HBM3 (shard 0/2); AMD Instinct MI300X (shard 1/2); seconds per image are not comparable across them.',
    ]);
    expect(summary.shards!.map((s) => [s.shard, s.adapter])).toEqual([['0/2', 'NVIDIA H100 80GB HBM3'], ['1/2', 'AMD Instinct MI300X']]);
    expect(md).toContain('| 1/2 | AMD Instinct MI300X | node-2 | 1 | 1 | yes | 2026-12-07T06:00:00.000Z |');
  });

  it('a complete run on one GPU has no warnings', () => {
    const dir = runFolder('clean', { shards: 1, selection: { images: 2 } }, {
      'records-0-of-1.jsonl': jsonl([mask('a.png'), mask('b.png')]),
      'shard-0-of-1.json': shardFile('0/1', {}),
    });
    const { summary, md, stderr } = report(dir);
    expect(summary.warnings).toEqual([]);
    expect(stderr).toEqual([]);
    expect(md).not.toContain('Warning');
    expect(md).toContain('| 0/1 | NVIDIA H100 80GB HBM3 | node-1 | 2 | 2 | yes | 2026-12-07T06:00:00.000Z |');
  });
});

describe('moxi evaluate report --out', () => {
  it('writes summary.md and the curves into --out (created), leaving the run folder as it was', () => {
    const dir = runFolder('out-src', { shards: 1 }, { 'records-0-of-1.jsonl': jsonl([mask('a.png')]) });
    const before = readdirSync(dir).sort();
    const out = join(root, 'reports', 'run-1');
    const run = runCli(['evaluate', 'report', dir, '--out', out, '--json', '--selection-images', '0']);
    expect(run.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['curves.csv', 'curves.png', 'curves.svg', 'runtime.csv', 'summary.md']);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(JSON.parse(run.stdout).files.summary).toBe(join(out, 'summary.md'));
  });

  it('--out under a file: one line naming it, exit 2', () => {
    const dir = runFolder('out-bad', { shards: 1 }, { 'records-0-of-1.jsonl': jsonl([mask('a.png')]) });
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const run = runCli(['evaluate', 'report', dir, '--out', join(file, 'report')]);
    expect(run.code).toBe(2);
    expect(run.messages).toEqual([`moxi: --out: ${join(file, 'report')}: ${file} is a file, not a folder; choose another location`]);
  });

  it('a run folder it cannot write into, without --out: one line naming the folder and suggesting --out, exit 2', (ctx) => {
    const dir = runFolder('read-only', { shards: 1 }, { 'records-0-of-1.jsonl': jsonl([mask('a.png')]) });
    chmodSync(dir, 0o555);
    immutable.push(dir);
    // Root writes through permission bits: make the folder immutable instead (ext4, CAP_LINUX_IMMUTABLE).
    const probe = join(dir, '.probe');
    let writable = true;
    try {
      writeFileSync(probe, '');
      unlinkSync(probe);
    } catch {
      writable = false;
    }
    if (writable && spawnSync('chattr', ['+i', dir]).status === 0) {
      try {
        writeFileSync(probe, '');
        unlinkSync(probe);
      } catch {
        writable = false;
      }
    }
    if (writable) {
      // Neither chmod nor chattr denies writes here (root on a file system without immutable files): nothing to test.
      ctx.skip(`${dir} stays writable to this user (root without chattr), so a refusal cannot be provoked`);
    }
    const run = runCli(['evaluate', 'report', dir]);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toMatch(new RegExp(`^moxi: ${dir}: cannot write the report into this folder \\((permission denied|read-only file system)\\); give --out DIR to write summary.md and the curves elsewhere$`));
    expect(run.stderr).not.toContain('.partial');
    expect(existsSync(join(dir, 'summary.md'))).toBe(false);
    const elsewhere = runCli(['evaluate', 'report', dir, '--out', join(root, 'read-only-report')]);
    expect(elsewhere.code).toBe(0);
  });
});
