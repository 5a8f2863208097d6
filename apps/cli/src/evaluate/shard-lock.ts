import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { InputError } from '@moxi/kernels';
import { formatDuration, log } from '../output.ts';

/** Seconds without a heartbeat after which a lock is stale (MOXI_LOCK_STALE_SECONDS overrides). */
const DEFAULT_STALE_SECONDS = 30;

/** The stale age; the holder beats three times within it. */
export function lockStaleSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.MOXI_LOCK_STALE_SECONDS);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_STALE_SECONDS;
}

interface Holder {
  pid: number;
  host: string;
  /** The last heartbeat (ms since the epoch): the time in the file, else the file's mtime. */
  beat: number;
}

/**
 * One writer per records file: `<file>.lock` holds the writer's PID, host and last
 * heartbeat (`<pid> <host> <ISO time>`), made with O_EXCL so two processes cannot both
 * take it. The holder rewrites the time every stale/3 seconds (default 10 s). A second
 * process on the same shard is refused while the heartbeat is fresh (its records would
 * interleave with the first one's); a lock whose heartbeat is older than the stale age
 * (default 30 s), or whose process is gone on this host, is taken over, on any host (a
 * shared file system). Removed on release and at exit.
 */
export class ShardLock {
  private released = false;
  private readonly onExit = () => this.release();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly path: string,
    private readonly content: () => string,
  ) {
    process.once('exit', this.onExit);
    this.timer = setInterval(() => this.beat(), (lockStaleSeconds() * 1000) / 3);
    this.timer.unref();
  }

  static acquire(file: string): ShardLock {
    const path = `${file}.lock`;
    const mine = () => `${process.pid} ${hostname()} ${new Date().toISOString()}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, mine());
        closeSync(fd);
        return new ShardLock(path, mine);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = readHolder(path);
        if (!holder) continue; // removed meanwhile: try again
        const age = Math.max(0, (Date.now() - holder.beat) / 1000);
        const stale = age > lockStaleSeconds();
        const gone = holder.host === hostname() && !processExists(holder.pid);
        if (!stale && !gone) {
          throw new InputError(
            file,
            `is being written by process ${holder.pid} on ${holder.host} (lock ${path}); its last heartbeat was ${formatDuration(age)} ago ` +
              `(${new Date(holder.beat).toISOString()}; a lock is taken over ${lockStaleSeconds()} s after its last heartbeat). ` +
              `Wait for it to finish or stop it (two writers would interleave records); if that process is really gone, remove the lock: rm ${path}`,
          );
        }
        // A lock left by a process that is gone, or that stopped beating: take it over.
        log(`${file}: took over the lock of process ${holder.pid} on ${holder.host} (${gone ? 'that process is gone' : `last heartbeat ${formatDuration(age)} ago, ${new Date(holder.beat).toISOString()}`})`);
        rmSync(path, { force: true });
      }
    }
    throw new InputError(file, `could not take the lock ${path}; remove it (rm ${path}) if no moxi process writes this shard`);
  }

  /** Rewrites the lock's time (atomically: a reader never sees it empty), while the lock is still ours. */
  private beat(): void {
    if (this.released) return;
    try {
      const holder = readHolder(this.path);
      if (!holder || holder.pid !== process.pid || holder.host !== hostname()) {
        clearInterval(this.timer);
        log(`${this.path}: the lock is no longer this process's (${holder ? `process ${holder.pid} on ${holder.host} took it over` : 'removed'}); stop this run if another one writes the same shard`);
        return;
      }
      const partial = `${this.path}.${process.pid}.beat`;
      const fd = openSync(partial, 'w');
      writeSync(fd, this.content());
      closeSync(fd);
      renameSync(partial, this.path);
    } catch {
      // A missed beat is harmless unless it lasts the stale age.
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    process.removeListener('exit', this.onExit);
    const holder = readHolder(this.path);
    if (!holder || (holder.pid === process.pid && holder.host === hostname())) rmSync(this.path, { force: true });
  }
}

function readHolder(path: string): Holder | undefined {
  let text: string;
  let mtime: number;
  try {
    text = readFileSync(path, 'utf8');
    mtime = statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
  const [pid, host, time] = text.trim().split(/\s+/);
  const beat = time === undefined ? Number.NaN : Date.parse(time);
  return {
    pid: pid !== undefined && /^\d+$/.test(pid) ? Number(pid) : -1,
    host: host ?? '',
    // Locks written before heartbeats existed (`<pid> <host>`) beat by their mtime.
    beat: Number.isFinite(beat) ? beat : mtime,
  };
}

function processExists(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
