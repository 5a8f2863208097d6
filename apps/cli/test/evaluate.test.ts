import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './run-cli.ts';
import { comparableRecords, readRecordLines, recordKey, type RecordLine } from './evaluate-records.ts';
import { expectShardMembership, selectionInWalkOrder } from './shard-membership.ts';

// `moxi evaluate` on SET-SUM test images with the bundled 4-token ViT (fast: 4 players), in
// an ImageFolder made by `moxi setsum generate --layout imagefolder`, with one corrupt file.
const MODEL = join(import.meta.dirname, '..', '..', '..', 'models', 'setsum-vit');
const dir = mkdtempSync(join(tmpdir(), 'moxi-evaluate-'));
const data = join(dir, 'data', 'test');
afterAll(() => rmSync(dir, { recursive: true, force: true }));





const BASE = ['evaluate', '--model', MODEL, '--data', data, '--images', '10', '--seed', '3', '--perturb', 'gaussian-noise,fog,pgd'];
/** BASE without perturbations (a single-value option may be given only once). */
const NO_PERTURB = BASE.map((a) => (a === 'gaussian-noise,fog,pgd' ? '' : a));
let reference: RecordLine[] = [];

beforeAll(() => {
  const made = runCli(['setsum', 'generate', '--out', join(dir, 'data'), '--train', '0', '--test', '40', '--seed', '5', '--layout', 'imagefolder']);
  expect(made.code).toBe(0);
  // A corrupt image in the middle of the data set: recorded as an error, the run goes on.
  const folder = readdirSync(data).find((f) => !f.endsWith('.csv'))!;
  writeFileSync(join(data, folder, 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nnot really'));
  // Tools' hidden leftovers are not images of the data set: never read, so never errors.
  writeFileSync(join(data, folder, '._macos-resource-fork.png'), 'not an image');
  mkdirSync(join(data, folder, '.ipynb_checkpoints'));
  writeFileSync(join(data, folder, '.ipynb_checkpoints', 'x-checkpoint.png'), 'not an image');
  const run = runCli([...BASE, '--out', join(dir, 'reference'), '--batch-images', '16']);
  expect(run.code).toBe(0);
  reference = readRecordLines(join(dir, 'reference'));
}, 300_000);

describe('moxi evaluate', () => {
  it('writes one line per image, method and perturbation with exactly the documented fields', () => {
    const images = new Set(reference.filter((l) => !l.error).map((l) => l.image));
    expect(images.size).toBe(10);
    const methods = ['moxi', 'shapley-self', 'shapley-full', 'shapley-sampling', 'gradcam', 'rollout', 'random'];
    for (const image of images) {
      for (const method of methods) {
        for (const perturbation of ['mask', 'gaussian-noise', 'fog', 'pgd']) {
          const found = reference.filter((l) => l.image === image && l.method === method && l.perturbation === perturbation);
          expect(found, `${image} ${method} ${perturbation}`).toHaveLength(1);
          const line = found[0]!;
          const fields = ['image', 'label', 'predicted', 'method', 'perturbation', 'players', 'insertionOrder', 'deletionOrder', 'deletion', 'evaluations', 'seconds'];
          if (perturbation === 'mask') fields.push('insertion');
          if (perturbation === 'pgd') fields.push('perturbationNorms');
          expect(Object.keys(line).sort()).toEqual(fields.sort());
          expect(line.players).toBe(4);
          expect(line.predicted).toBe(line.label);
          for (const curve of perturbation === 'mask' ? ['insertion', 'deletion'] : ['deletion']) {
            const c = line[curve] as { correct: number[]; probability: number[] };
            expect(c.correct).toHaveLength(5);
            expect(c.probability).toHaveLength(5);
          }
          const deletion = line.deletion as { correct: number[] };
          // j = 0 is the full, correctly classified image under every perturbation.
          expect(deletion.correct[0]).toBe(1);
          if (perturbation === 'mask') {
            // j = N: deletion removed everything, insertion kept everything.
            expect((line.insertion as { correct: number[] }).correct[4]).toBe(1);
            expect((line.insertion as { probability: number[] }).probability[0]).toBeCloseTo((line.deletion as { probability: number[] }).probability[4]!, 12);
          }
          if (perturbation === 'pgd') {
            const norms = line.perturbationNorms as number[];
            expect(norms).toHaveLength(4);
            // The whole perturbation's L2 norm is at most eps = 1.
            expect(Math.sqrt(norms.reduce((s, n) => s + n * n, 0))).toBeLessThanOrEqual(1 + 1e-5);
          }
        }
      }
    }
  });

  it('records a corrupt image met on the way as an error line and goes on', () => {
    // More images than the folder has correct ones: the walk reaches every file, the broken one too.
    const out = join(dir, 'all');
    const run = runCli([...NO_PERTURB.map((a) => (a === '10' ? '1000' : a)), '--out', out, '--methods', 'random']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.messages.join('\n')).toMatch(/only \d+ images are classified correctly; evaluating those/);
    const lines = readRecordLines(out);
    const errors = lines.filter((l) => l.error !== undefined);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.image).toMatch(/^\d+\/broken\.png$/);
    expect(errors[0]!.error).toMatch(/broken\.png/);
    expect(lines.length).toBeGreaterThan(30);
    const report = runCli(['evaluate', 'report', out, '--json']);
    expect(report.code, report.stderr).toBe(0);
    expect((JSON.parse(report.stdout) as { errors: unknown[] }).errors).toHaveLength(1);
  });

  it('gives the same records whatever the batching and sharding (timings aside)', () => {
    const out = join(dir, 'sharded');
    for (const shard of ['0/3', '1/3', '2/3']) {
      const run = runCli([...BASE, '--out', out, '--batch-images', '3', '--shard', shard]);
      expect(run.code, run.stderr).toBe(0);
    }
    expect(readdirSync(out).filter((f) => f.endsWith('.jsonl')).sort()).toEqual(['records-0-of-3.jsonl', 'records-1-of-3.jsonl', 'records-2-of-3.jsonl']);
    expect(comparableRecords(readRecordLines(out))).toEqual(comparableRecords(reference));
    // Which images each shard holds, image by image: positions k mod 3 of the walk order
    // (a corrupt image met on the way included), not merely a third of the records.
    const selection = selectionInWalkOrder(data, 3, reference.map((l) => l.image));
    for (const index of [0, 1, 2]) expectShardMembership(out, index, 3, selection);
  });

  it('reruns a finished evaluation without computing anything: every image counted as done, no record written, the file untouched', () => {
    const out = join(dir, 'reference');
    const path = join(out, 'records-0-of-1.jsonl');
    const bytes = readFileSync(path);
    const rerun = runCli([...BASE, '--out', out, '--batch-images', '16', '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const summary = JSON.parse(rerun.stdout) as { shardImages: number; resumedImages: number; errors: number; linesWritten: number };
    // The 10 images (and any corrupt one met on the way) all done before: none is explained again.
    const images = new Set(reference.map((l) => l.image)).size;
    const errors = reference.filter((l) => l.error !== undefined).length;
    expect(images).toBe(10 + errors);
    expect(summary).toMatchObject({ shardImages: images, resumedImages: images, errors, linesWritten: 0 });
    expect(readFileSync(path)).toEqual(bytes);
    // The plan and the progress count no coalition: no forward pass past choosing the images.
    expect(rerun.progress.join('\n')).toMatch(new RegExp(`^evaluate: 0 coalitions of 2x2 players planned for 0 images \\(${images} of ${images} done before\\)`, 'm'));
    expect(rerun.messages.join('\n')).toMatch(new RegExp(`${images} of ${images} images already done; resuming`));
  });

  it('resumes a run killed with SIGKILL: same records, none duplicated, a torn line dropped', async () => {
    const out = join(dir, 'killed');
    const child = spawn(process.execPath, [CLI, ...BASE, '--out', out, '--batch-images', '2'], { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' }, stdio: 'ignore' });
    const records = join(out, 'records-0-of-1.jsonl');
    // Kill once some images are written and before all are.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const lines = existsSync(records) ? readFileSync(records, 'utf8').split('\n').length - 1 : 0;
        if (lines >= 2 * 28) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the run ended before it could be killed'));
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const before = readRecordLines(out);
    expect(before.length).toBeLessThan(reference.length);
    // What a kill during a write leaves: half a line.
    appendFileSync(records, '{"image":"x/half.png","label":3,"pre');
    const rerun = runCli([...BASE, '--out', out, '--batch-images', '2']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.messages.join('\n')).toMatch(/torn last line/);
    expect(rerun.messages.join('\n')).toMatch(/already done; resuming/);
    const after = readRecordLines(out);
    expect(new Set(after.map(recordKey)).size).toBe(after.length);
    expect(comparableRecords(after)).toEqual(comparableRecords(reference));
    // A finished run reruns as a no-op.
    const again = runCli([...BASE, '--out', out, '--batch-images', '2']);
    expect(again.code).toBe(0);
    expect(readRecordLines(out)).toEqual(after);
  });

  it('refuses a second process on the same shard while one writes it; SIGTERM stops the first cleanly and the run resumes', async () => {
    const out = join(dir, 'terminated');
    const env = { ...process.env, XDG_RUNTIME_DIR: '/tmp' };
    const child = spawn(process.execPath, [CLI, ...BASE, '--out', out, '--batch-images', '2'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const records = join(out, 'records-0-of-1.jsonl');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(records) && readFileSync(records, 'utf8').split('\n').length - 1 >= 28) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
      void exited.then(() => {
        clearInterval(timer);
        reject(new Error(`the run ended before the test could join it: ${stderr}`));
      });
    });
    // The lock names the writer; a second writer is refused rather than interleaved.
    expect(readFileSync(`${records}.lock`, 'utf8')).toMatch(new RegExp(`^${child.pid} `));
    const second = runCli([...BASE, '--out', out, '--batch-images', '2']);
    expect(second.code).toBe(2);
    expect(second.messages).toEqual([expect.stringMatching(new RegExp(`records-0-of-1\\.jsonl: is being written by process ${child.pid} on .* \\(lock .*records-0-of-1\\.jsonl\\.lock\\)`))]);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stderr).toMatch(/moxi: stopped by SIGTERM/);
    expect(existsSync(`${records}.lock`)).toBe(false);
    // Only whole lines: every one parses.
    const before = readRecordLines(out);
    expect(before.length).toBeLessThan(reference.length);
    const rerun = runCli([...BASE, '--out', out, '--batch-images', '2']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.messages.join('\n')).not.toMatch(/torn last line/);
    expect(comparableRecords(readRecordLines(out))).toEqual(comparableRecords(reference));
  });

  it('ends a run whose GPU device is lost with one clear line, and resumes from its records', () => {
    const out = join(dir, 'lost');
    const lost = runCli([...BASE, '--out', out, '--batch-images', '2'], { MOXI_TEST_LOSE_DEVICE_AFTER_MS: '4000' });
    expect(lost.code).toBe(1);
    expect(lost.messages.at(-1)).toMatch(/^moxi: error: the GPU device was lost \(destroyed: .*\); nothing after that point ran\. Run the command again \(moxi evaluate resumes from its records\)$/);
    expect(existsSync(join(out, 'records-0-of-1.jsonl.lock'))).toBe(false);
    const before = readRecordLines(out);
    expect(before.length).toBeLessThan(reference.length);
    const rerun = runCli([...BASE, '--out', out, '--batch-images', '2']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(comparableRecords(readRecordLines(out))).toEqual(comparableRecords(reference));
  });

  it('refuses other settings in the same folder, naming what differs', () => {
    const run = runCli([...BASE.map((a) => (a === '3' ? '4' : a)), '--out', join(dir, 'reference')]);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toMatch(/reference: holds an evaluation with other settings \(seed 3 there, 4 here\)/);
  });

  it('takes its shard from a Slurm array task or a Kubernetes Indexed Job', () => {
    const out = join(dir, 'slurm');
    const slurm = runCliWithEnv([...NO_PERTURB, '--out', out, '--methods', 'random'], { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '3' });
    expect(slurm.code, slurm.stderr).toBe(0);
    expect(readdirSync(out).filter((f) => f.endsWith('.jsonl'))).toEqual(['records-1-of-3.jsonl']);
    const shard1 = comparableRecords(readRecordLines(out));
    const expected = comparableRecords(reference.filter((l) => (l.method === 'random' && l.perturbation === 'mask') || l.error));
    // Shard 1 of 3 holds positions 1, 4, 7, ... of the chosen list: a third of it.
    expect(shard1.length).toBeGreaterThan(0);
    expect(shard1.length).toBeLessThan(expected.length);
    for (const line of shard1) expect(expected).toContainEqual(line);
    // Exactly positions 1, 4, 7, 10 of the walk order, image by image.
    expectShardMembership(out, 1, 3, selectionInWalkOrder(data, 3, reference.map((l) => l.image)));

    const k8s = runCliWithEnv([...NO_PERTURB, '--out', join(dir, 'k8s'), '--methods', 'random'], { JOB_COMPLETION_INDEX: '0' });
    expect(k8s.code).toBe(2);
    expect(k8s.messages).toEqual(['moxi: --shards: is required inside a Kubernetes Indexed Job (set it to the Job\'s completions)']);
    const resubmitted = runCliWithEnv([...NO_PERTURB, '--out', out, '--methods', 'random'], { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '1' });
    expect(resubmitted.code).toBe(2);
    expect(resubmitted.messages[0]).toMatch(/SLURM_ARRAY_TASK_ID: shard 1\/1 does not exist.*--shards N/);
  });
});

describe('moxi evaluate: bad input exits 2 with one line naming it', () => {
  const csv = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const empty = join(dir, 'empty');
  mkdirSync(empty, { recursive: true });
  const cases: Array<[string, () => string[], RegExp]> = [
    ['a missing folder', () => ['--data', join(dir, 'nope')], /nope: no such file or folder/],
    ['an empty folder', () => ['--data', empty], /empty: has no class subfolders/],
    ['a CSV with an unknown column', () => ['--data', csv('extra.csv', 'file,label,weight\na.png,1,2\n')], /extra\.csv: unknown column "weight"/],
    ['a CSV label outside the classes', () => ['--data', csv('big.csv', `file,label\n${readdirSync(data).find((f) => !f.endsWith('.csv'))}/broken.png,31\n`)], /big\.csv line 2: label 31 is outside the model's classes \(0\.\.30\)/],
    ['--shard 4/4', () => ['--data', data, '--shard', '4/4'], /--shard: shard 4\/4 does not exist: with 4 shards the index runs 0\.\.3/],
    ['--shard 1/x', () => ['--data', data, '--shard', '1/x'], /--shard: "1\/x" is not i\/n/],
    ['an unknown method', () => ['--data', data, '--methods', 'moxi,shapley-exact'], /--methods: "shapley-exact" is not one of/],
    ['an unknown perturbation', () => ['--data', data, '--perturb', 'snow'], /--perturb: "snow" is not one of gaussian-noise, fog, pgd/],
    ['--images and --per-class', () => ['--data', data, '--images', '3', '--per-class', '1'], /--per-class: choose either --images or --per-class/],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    const out = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    const run = runCli(['evaluate', '--model', MODEL, '--out', out, ...args()]);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toMatch(message);
    expect(run.stdout).toBe('');
    // Nothing written half-way.
    expect(existsSync(join(out, 'records-0-of-1.jsonl'))).toBe(false);
  });
});

function runCliWithEnv(args: string[], env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return runCli(args);
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}
