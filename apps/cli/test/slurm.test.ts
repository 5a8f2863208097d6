import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';
import { expectShardMembership, selectionInWalkOrder } from './shard-membership.ts';

// A real cluster: Debian's Slurm brought up on this machine by tools/slurm/start.sh (CI runs
// as root and scripts/setup.sh installs slurm-wlm and munge). The 4-task array of
// examples/slurm/evaluate.sbatch runs `moxi evaluate`; one task is killed with SIGKILL
// mid-run and its index resubmitted; the merged records must equal one process's run.
const REPO = join(import.meta.dirname, '..', '..', '..');
const MODEL = join(REPO, 'models', 'setsum-vit');
// The script asks each task for a GPU (--gres=gpu:1); this cluster has none and declares no
// GRES, so it is submitted with --gres=none, which overrides the #SBATCH line.
const SCRIPT = join(REPO, 'examples', 'slurm', 'evaluate.sbatch');
const NO_GPU = '--gres=none';
const dir = mkdtempSync(join(tmpdir(), 'moxi-slurm-test-'));
// munged runs as the munge user and keeps its socket and log in the state folder below.
chmodSync(dir, 0o755);
const state = join(dir, 'slurm-state');
const data = join(dir, 'data', 'test');
const ARGS = '--images 16 --seed 11 --perturb gaussian-noise,pgd --batch-images 1';
const env = { ...process.env, MOXI_SLURM_DIR: state, MOXI_MODEL: MODEL, MOXI_DATA: data, XDG_RUNTIME_DIR: '/tmp' };

function sh(command: string, args: string[], extraEnv: Record<string, string> = {}): string {
  return execFileSync(command, args, { cwd: REPO, env: { ...env, ...extraEnv }, encoding: 'utf8' });
}

async function until<T>(what: string, seconds: number, probe: () => T | undefined): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const lineCount = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').length - 1 : 0);

function records(out: string): string[] {
  return readdirSync(out)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => {
      const { seconds: _seconds, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify(rest);
    })
    .sort();
}

beforeAll(() => {
  expect(process.getuid?.(), 'the Slurm test brings up daemons as root (CI runs as root)').toBe(0);
  const made = runCli(['setsum', 'generate', '--out', join(dir, 'data'), '--train', '0', '--test', '40', '--seed', '9', '--layout', 'imagefolder']);
  expect(made.code).toBe(0);
  sh(join(REPO, 'tools', 'slurm', 'start.sh'), []);
}, 120_000);

afterAll(() => {
  spawnSync(join(REPO, 'tools', 'slurm', 'stop.sh'), ['--purge'], { cwd: REPO, env, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

describe('moxi evaluate on a Slurm array', () => {
  it('4 tasks, one killed with SIGKILL and resubmitted, merge to the records of one process', async () => {
    const out = join(dir, 'array');
    expect(readFileSync(SCRIPT, 'utf8')).toMatch(/^#SBATCH --gres=gpu:1$/m);
    const submitted = sh('sbatch', ['--parsable', '--chdir', dir, NO_GPU, SCRIPT], { MOXI_OUT: out, MOXI_ROOT: REPO, MOXI_ARGS: ARGS });
    const job = submitted.trim().split(';')[0]!;
    // Task 2 is killed once it has written its first image's lines, before it has finished.
    const shard2 = join(out, 'records-2-of-4.jsonl');
    const taskJob = await until('task 2 to run and write a record', 240, () => {
      const id = sh('squeue', ['-h', '-t', 'R', '-j', `${job}_2`, '-o', '%A']).trim();
      return id !== '' && lineCount(shard2) > 0 ? id : undefined;
    });
    const pids = sh('scontrol', ['listpids', taskJob])
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[0])
      .filter((p): p is string => p !== undefined && /^\d+$/.test(p));
    expect(pids.length).toBeGreaterThan(0);
    spawnSync('kill', ['-KILL', ...pids]);
    await until('the array to finish', 300, () => (sh('squeue', ['-h', '-j', job]).trim() === '' ? true : undefined));
    const state2 = sh('scontrol', ['show', 'job', `${job}_2`]);
    expect(state2).toMatch(/JobState=FAILED/);
    const killedAt = lineCount(shard2);
    expect(killedAt).toBeGreaterThan(0);

    // Resubmit index 2 alone: SLURM_ARRAY_TASK_COUNT is then 1, so the shard count is spelled out.
    const again = sh('sbatch', ['--parsable', '--chdir', dir, NO_GPU, '--array=2', SCRIPT], { MOXI_OUT: out, MOXI_ROOT: REPO, MOXI_ARGS: ARGS, MOXI_SHARDS: '4' });
    const rerun = again.trim().split(';')[0]!;
    await until('the resubmitted task to finish', 240, () => (sh('squeue', ['-h', '-j', rerun]).trim() === '' ? true : undefined));
    expect(sh('scontrol', ['show', 'job', rerun])).toMatch(/JobState=COMPLETED/);
    const log = readFileSync(join(dir, `moxi-evaluate-${rerun}_2.out`), 'utf8');
    expect(log).toMatch(/already done; resuming/);
    // Each task logs its adapter (moxi doctor) first; with no GPU allocated, lavapipe is fine.
    expect(log).toMatch(/GPUs allocated: none/);
    expect(log).toMatch(/^doctor: adapter +\S/m);
    expect(log).toMatch(/^doctor: kind +/m);

    // One process, same settings, no shards.
    const single = join(dir, 'single');
    const run = runCli(['evaluate', '--model', MODEL, '--data', data, '--out', single, ...ARGS.split(' ')]);
    expect(run.code, run.stderr).toBe(0);
    const merged = records(out);
    expect(new Set(merged).size).toBe(merged.length);
    expect(merged).toEqual(records(single));
    expect(readdirSync(out).filter((f) => f.endsWith('.jsonl')).sort()).toEqual(['records-0-of-4.jsonl', 'records-1-of-4.jsonl', 'records-2-of-4.jsonl', 'records-3-of-4.jsonl']);
    // Each task wrote its own shard, image by image: positions k mod 4 of the walk order.
    const selection = selectionInWalkOrder(data, 11, records(single).map((l) => (JSON.parse(l) as { image: string }).image));
    expect(selection).toHaveLength(16);
    for (const index of [0, 1, 2, 3]) expectShardMembership(out, index, 4, selection);

    const report = runCli(['evaluate', 'report', out, '--json']);
    expect(report.code, report.stderr).toBe(0);
    const summary = JSON.parse(report.stdout) as { images: number };
    expect(summary.images).toBe(16);
  }, 900_000);

  it('a task given a GPU that finds only a software rasteriser stops with exit 3 and says why', (ctx) => {
    const doctor = runCli(['doctor', '--json']);
    expect(doctor.code, doctor.stderr).toBe(0);
    if (!(JSON.parse(doctor.stdout) as { adapter: { isSoftware: boolean } }).adapter.isSoftware) ctx.skip('a machine with a GPU: no software rasteriser to refuse');
    // The script run as Slurm would run a task that was allocated GPU 0.
    const task = { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_JOB_ID: '1', SLURM_JOB_GPUS: '0', MOXI_ROOT: REPO, MOXI_OUT: join(dir, 'gpu') };
    const r = spawnSync('bash', [SCRIPT], { cwd: dir, env: { ...env, ...task }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/GPUs allocated: 0/);
    expect(r.stdout).toMatch(/^doctor: kind +software/m);
    expect(r.stderr).toMatch(/Slurm gave this task GPU 0 but WebGPU sees only a software rasteriser on .*MOXI_ALLOW_SOFTWARE=1/);
    expect(existsSync(join(dir, 'gpu'))).toBe(false);
  }, 60_000);
});
