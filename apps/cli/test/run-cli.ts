import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/moxi.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr without Dawn's start-up warnings (not ours) and without progress lines. */
  messages: string[];
  /**
   * Progress written when stderr is not a terminal: the plan ("moxi-insertion: 136
   * coalitions of 4x4 players planned, ..."), the first estimate, and the plain progress
   * lines ("label: 3/16 0.8s ...").
   */
  progress: string[];
  seconds: number;
}

/** ProgressBar's off-terminal lines (label, done/total, elapsed time; its estimate) and explain's plan. */
const PROGRESS_LINE = /^[\w .-]+: (\d+\/\d+ \d+(\.\d+s|m\d\ds|h\d\dm)|estimate |(at most )?[\d,^]+ coalitions of \d+x\d+ players planned)/;

/** Runs `moxi args...` to completion (killed after 60 s: bad input must never hang). */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): CliRun {
  const t0 = performance.now();
  // maxBuffer: a big batch's --json is large (10,923 predictions: 10 MB); past Node's 1 MiB
  // default the child would be cut off mid-output.
  const r = spawnSync(process.execPath, [CLI, ...args], { ...(cwd ? { cwd } : {}), encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 2 ** 20, env: { ...process.env, XDG_RUNTIME_DIR: '/tmp', ...env } });
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: max'));
  const progress = lines.filter((l) => PROGRESS_LINE.test(l));
  const messages = lines.filter((l) => !PROGRESS_LINE.test(l));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, messages, progress, seconds: (performance.now() - t0) / 1000 };
}
