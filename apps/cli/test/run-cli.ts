import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/moxi.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr without Dawn's start-up warnings, which are not ours. */
  messages: string[];
  seconds: number;
}

/** Runs `moxi args...` to completion (killed after 60 s: bad input must never hang). */
export function runCli(args: string[]): CliRun {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
  const messages = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: max'));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, messages, seconds: (performance.now() - t0) / 1000 };
}
