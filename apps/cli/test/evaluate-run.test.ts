import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './run-cli.ts';
import { comparableRecords, readRecordLines, type RecordLine } from './evaluate-records.ts';

// How `moxi evaluate` runs on a cluster: progress, signals, locks, the shard file, CSV paths,
// refusals. The bundled SET-SUM ViT (4 players) on the 16 example images, in a CSV made here.
const ROOT = join(import.meta.dirname, '..', '..', '..');
const MODEL = join(ROOT, 'models', 'setsum-vit');
const EXAMPLES = join(ROOT, 'examples', 'setsum');
const dir = mkdtempSync(join(tmpdir(), 'moxi-evaluate-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));





/** Lines per image: 7 methods x (mask, fog). */
const PER_IMAGE = 14;
const labels = readFileSync(join(EXAMPLES, 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 2) as [string, string]);
const data = join(dir, 'data', 'set.csv');
const ARGS = ['evaluate', '--model', MODEL, '--data', data, '--images', '6', '--seed', '1', '--perturb', 'fog'];
const env = { ...process.env, XDG_RUNTIME_DIR: '/tmp' };
let reference: RecordLine[] = [];
let referenceRun: ReturnType<typeof runCli>;

beforeAll(() => {
  // Half the CSV's paths relative to its own folder (the images in a subfolder), half absolute.
  mkdirSync(join(dir, 'data', 'img'), { recursive: true });
  const rows = labels.map(([file, label], k) => {
    if (k % 2 === 0) {
      copyFileSync(join(EXAMPLES, file), join(dir, 'data', 'img', file));
      return `img/${file},${label}`;
    }
    return `${join(EXAMPLES, file)},${label}`;
  });
  writeFileSync(data, `file,label\n${rows.join('\n')}\n`);
  // One batch of all images: the estimate must still come after the first image.
  referenceRun = runCli([...ARGS, '--out', join(dir, 'reference'), '--batch-images', '16'], {}, tmpdir());
  expect(referenceRun.code, referenceRun.stderr).toBe(0);
  reference = readRecordLines(join(dir, 'reference'));
}, 120_000);

/** Starts a run, waits until at least `lines` records are on disk, then sends `signal`. */
/**
 * Runs evaluate and sends `signal` once `lines` records are on disk; with `afterRefresh`,
 * also only once the lock's heartbeat has been rewritten since the lock was made (so the
 * test does not depend on how fast this machine reaches `lines`). `firstLock` is the
 * lock's content as first seen.
 */
async function interrupt(
  out: string,
  signal: NodeJS.Signals,
  lines: number,
  batchImages: number,
  extraEnv: Record<string, string> = {},
  afterRefresh = false,
): Promise<{ code: number | null; stderr: string; lock: string; firstLock: string }> {
  const child = spawn(process.execPath, [CLI, ...ARGS, '--out', out, '--batch-images', String(batchImages)], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const records = join(out, 'records-0-of-1.jsonl');
  let lock = '';
  let firstLock = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      lock = existsSync(`${records}.lock`) ? readFileSync(`${records}.lock`, 'utf8') : '';
      if (firstLock === '') firstLock = lock;
      const refreshed = !afterRefresh || (lock !== '' && lock !== firstLock);
      if (refreshed && existsSync(records) && readFileSync(records, 'utf8').split('\n').length - 1 >= lines) {
        clearInterval(timer);
        child.kill(signal);
        resolve();
      }
    }, 5);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`the run ended before it could be interrupted: ${stderr}`));
    });
  });
  return { code: await exited, stderr, lock, firstLock };
}

/** Images whose lines are all on disk; fails on an image with only some of its lines (a torn last line aside). */
function wholeImages(out: string): string[] {
  const byImage = new Map<string, number>();
  for (const l of readRecordLines(out, { allowTornLastLine: true })) byImage.set(l.image, (byImage.get(l.image) ?? 0) + 1);
  for (const [image, n] of byImage) expect(n, image).toBe(PER_IMAGE);
  return [...byImage.keys()];
}

describe('moxi evaluate on a cluster', () => {
  it('reads a CSV with relative (to its folder) and absolute paths, from any working directory', () => {
    const images = new Set(reference.map((l) => l.image));
    expect(images.size).toBe(6);
    expect([...images].some((i) => i.startsWith('img/'))).toBe(true);
    expect([...images].some((i) => i.startsWith(EXAMPLES))).toBe(true);
    expect(reference).toHaveLength(6 * PER_IMAGE);
  });

  it('logs the adapter, the plan of the whole selection, an estimate after the first image and progress with images', () => {
    expect(referenceRun.messages).toContainEqual(expect.stringMatching(/^evaluate: running on .+/));
    // 6 images x (moxi 20 + self 5 + full 5 + sampling 128 coalitions, gradcam's and rollout's
    // 1 image each, curves 7 x 10 + fog 7 x 5).
    expect(referenceRun.progress).toContainEqual(expect.stringMatching(/^evaluate: 1,590 coalitions of 2x2 players planned for 6 images, [\d.]+ [GT]FLOP$/));
    expect(referenceRun.progress).toContainEqual(expect.stringMatching(/^evaluate: estimate \S+ in all, from the first image/));
    expect(referenceRun.progress).toContainEqual(expect.stringMatching(/^evaluate: 1590\/1590 \S+ coalitions, images 6\/6/));
  });

  it('writes DIR/shard-<i>-of-<n>.json with the adapter the shard ran on', () => {
    const status = JSON.parse(readFileSync(join(dir, 'reference', 'shard-0-of-1.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(status)).toEqual(['shard', 'adapter', 'software', 'host', 'images', 'finished', 'complete', 'updatedAt']);
    expect(status).toMatchObject({ shard: '0/1', software: expect.any(Boolean), host: hostname(), images: 6, finished: 6, complete: true });
    expect(referenceRun.messages).toContain(`evaluate: running on ${status.adapter as string}${status.software ? ' (a software rasteriser: every pass runs on the CPU)' : ''}`);
    expect(Date.now() - Date.parse(status.updatedAt as string)).toBeLessThan(120_000);
  });

  it('keeps every finished image on Ctrl-C (written per image, not per batch), says how to resume, and resumes to the same records', async () => {
    const out = join(dir, 'sigint');
    // One batch of all 6 images: lines written per batch would leave 0 or 6 images, never some.
    const stopped = await interrupt(out, 'SIGINT', PER_IMAGE, 6);
    expect(stopped.code).toBe(130);
    // The lock carries the writer and its heartbeat.
    expect(stopped.lock).toMatch(/^\d+ \S+ \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    const last = stopped.stderr.trim().split('\n').at(-1)!;
    const m = /^moxi: stopped by SIGINT: (\d+) of 6 images of shard 0\/1 are kept in .*records-0-of-1\.jsonl \(\d+ records written by this run\); run the same command again to resume$/.exec(last);
    expect(m, last).not.toBeNull();
    const kept = wholeImages(out);
    expect(kept).toHaveLength(Number(m![1]));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(6);
    const status = JSON.parse(readFileSync(join(out, 'shard-0-of-1.json'), 'utf8')) as { finished: number; complete: boolean };
    expect(status).toMatchObject({ finished: kept.length, complete: false });
    expect(existsSync(join(out, 'records-0-of-1.jsonl.lock'))).toBe(false);

    const rerun = runCli([...ARGS, '--out', out, '--batch-images', '4']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.messages.join('\n')).toMatch(new RegExp(`${kept.length} of 6 images already done; resuming`));
    expect(comparableRecords(readRecordLines(out))).toEqual(comparableRecords(reference));
  });

  it('keeps every finished image on SIGKILL and resumes to the same records', async () => {
    const out = join(dir, 'sigkill');
    // A heartbeat every 0.2 s, and the kill comes after one was rewritten: the lock the
    // killed process leaves has a heartbeat later than the one it was made with.
    const killed = await interrupt(out, 'SIGKILL', PER_IMAGE, 4, { MOXI_LOCK_STALE_SECONDS: '0.6' }, true);
    const killedAt = Date.now();
    expect(killed.code).toBeNull();
    const leftover = readFileSync(join(out, 'records-0-of-1.jsonl.lock'), 'utf8');
    const heartbeat = (lock: string) => Date.parse(lock.trim().split(' ')[2]!);
    expect(heartbeat(leftover) - heartbeat(killed.firstLock), `${killed.firstLock} -> ${leftover}`).toBeGreaterThan(0);
    expect(killedAt - heartbeat(leftover), leftover).toBeLessThan(1500);
    const kept = wholeImages(out);
    expect(kept.length).toBeGreaterThan(0);
    const status = JSON.parse(readFileSync(join(out, 'shard-0-of-1.json'), 'utf8')) as { finished: number; complete: boolean };
    expect(status.complete).toBe(false);
    expect(status.finished).toBeLessThanOrEqual(kept.length);
    // The killed process left its lock; on this host its PID is gone, so the rerun takes it over.
    const rerun = runCli([...ARGS, '--out', out, '--batch-images', '4']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(comparableRecords(readRecordLines(out))).toEqual(comparableRecords(reference));
    expect(JSON.parse(readFileSync(join(out, 'shard-0-of-1.json'), 'utf8'))).toMatchObject({ finished: 6, complete: true });
  });

  it('takes over a lock whose heartbeat stopped, on any host, and refuses a live one naming it', () => {
    const out = join(dir, 'reference');
    const lock = join(out, 'records-0-of-1.jsonl.lock');
    writeFileSync(lock, `4242 node-17.cluster ${new Date(Date.now() - 5 * 60_000).toISOString()}\n`);
    const resumed = runCli([...ARGS, '--out', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.messages).toContainEqual(expect.stringMatching(/records-0-of-1\.jsonl: took over the lock of process 4242 on node-17\.cluster \(last heartbeat 5m00s ago, /));
    expect(existsSync(lock)).toBe(false);

    const fresh = new Date(Date.now() - 2000).toISOString();
    writeFileSync(lock, `4242 node-17.cluster ${fresh}\n`);
    const refused = runCli([...ARGS, '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.messages).toHaveLength(1);
    expect(refused.messages[0]).toContain(`records-0-of-1.jsonl: is being written by process 4242 on node-17.cluster (lock ${lock}); its last heartbeat was `);
    expect(refused.messages[0]).toContain(`(${fresh}; a lock is taken over 30 s after its last heartbeat)`);
    expect(refused.messages[0]).toMatch(new RegExp(`if that process is really gone, remove the lock: rm ${lock.replace(/[.]/g, '\\.')}$`));
    // A shorter stale age (MOXI_LOCK_STALE_SECONDS) makes the same lock stale.
    const short = runCli([...ARGS, '--out', out], { MOXI_LOCK_STALE_SECONDS: '1' });
    expect(short.code, short.stderr).toBe(0);
    expect(short.messages).toContainEqual(expect.stringMatching(/took over the lock of process 4242 on node-17\.cluster/));
    expect(existsSync(lock)).toBe(false);
  });
});

describe('moxi evaluate refuses, exit 2, one line, nothing written', () => {
  it('a data set none of whose images the model classifies correctly', () => {
    const wrong = join(dir, 'data', 'wrong.csv');
    writeFileSync(wrong, `file,label\n${labels.map(([file, label]) => `${join(EXAMPLES, file)},${(Number(label) + 1) % 31}`).join('\n')}\n`);
    const out = join(dir, 'wrong');
    const run = runCli(['evaluate', '--model', MODEL, '--data', wrong, '--out', out, '--images', '4', '--methods', 'random']);
    expect(run.code).toBe(2);
    expect(run.messages.filter((l) => l.startsWith('moxi: '))).toEqual([expect.stringMatching(/wrong\.csv: only 0 of 16 images are classified correctly by \S+; nothing to evaluate/)]);
    expect(run.messages.at(-1)).toMatch(/^moxi: .*only 0 of 16/);
    expect(run.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  const cases: Array<[string, string[], RegExp]> = [
    ['--samples without shapley-sampling', ['--methods', 'moxi,random', '--samples', '8'], /^moxi: --samples: applies to shapley-sampling, kernel-shap, lime, rise-players, rise, smoothgrad only, which --methods moxi,random leaves out; leave it out$/],
    ['--samples at its default value, given', ['--methods', 'random', '--samples', '16'], /^moxi: --samples: applies to shapley-sampling, kernel-shap, lime, rise-players, rise, smoothgrad only/],
    ['--sampler without shapley-sampling', ['--methods', 'random', '--sampler', 'permutation'], /^moxi: --sampler: applies to shapley-sampling only/],
    ['--mask-from-layer without --mask-mode attention', ['--methods', 'random', '--mask-from-layer', '0'], /^moxi: --mask-from-layer: applies to --mask-mode attention only; leave it out$/],
    ['--mask-from-layer with --mask-mode token', ['--methods', 'random', '--mask-mode', 'token', '--mask-from-layer', '1'], /^moxi: --mask-from-layer: applies to --mask-mode attention only/],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    const out = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    const run = runCli(['evaluate', '--model', MODEL, '--data', data, '--out', out, '--images', '2', ...args]);
    expect(run.code).toBe(2);
    expect(run.messages).toEqual([expect.stringMatching(message)]);
    expect(existsSync(out)).toBe(false);
  });
});

describe('moxi evaluate extends a finished run', () => {
  const args = (images: number, methods: string, out: string) => ['evaluate', '--model', MODEL, '--data', data, '--seed', '1', '--images', String(images), '--methods', methods, '--out', out, '--json'];
  const written = (run: ReturnType<typeof runCli>) => (JSON.parse(run.stdout) as { linesWritten: number }).linesWritten;

  it('to more images and methods, computing only what is missing', () => {
    const out = join(dir, 'extended');
    const first = runCli(args(3, 'random,moxi', out));
    expect(first.code, first.stderr).toBe(0);
    expect(written(first)).toBe(3 * 2);
    const more = runCli(args(6, 'random,moxi,shapley-self', out));
    expect(more.code, more.stderr).toBe(0);
    expect(more.messages).toContainEqual(expect.stringMatching(/extending the evaluation \(images 3 -> 6; methods \+ shapley-self\)/));
    // The 3 new images with 3 methods, the 3 old ones with the new method only.
    expect(written(more)).toBe(3 * 3 + 3);
    const config = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')) as { selection: unknown; methods: string[] };
    expect(config.selection).toEqual({ images: 6 });
    expect(config.methods).toEqual(['random', 'moxi', 'shapley-self']);

    const fresh = runCli(args(6, 'random,moxi,shapley-self', join(dir, 'fresh')));
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(written(fresh)).toBe(6 * 3);
    expect(comparableRecords(readRecordLines(out))).toEqual(comparableRecords(readRecordLines(join(dir, 'fresh'))));

    // Shrinking, or other settings, is still refused.
    const fewer = runCli(args(3, 'random,moxi,shapley-self', out));
    expect(fewer.code).toBe(2);
    expect(fewer.messages).toEqual([expect.stringMatching(/holds an evaluation with other settings \(selection \{"images":6\} there, \{"images":3\} here\).*a rerun may only add/)]);
  });
});
