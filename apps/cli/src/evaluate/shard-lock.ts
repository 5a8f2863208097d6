import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { InputError } from '@moxi/kernels';

/**
 * One writer per records file: `<file>.lock` holds the writer's PID and host, made with
 * O_EXCL so two processes cannot both take it. A second process on the same shard is
 * refused (its records would interleave with the first one's); a lock whose process is
 * gone (killed, machine rebooted) is taken over. Removed on release and at exit.
 */
export class ShardLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly path: string) {
    process.once('exit', this.onExit);
  }

  static acquire(file: string): ShardLock {
    const path = `${file}.lock`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, `${process.pid} ${hostname()}\n`);
        closeSync(fd);
        return new ShardLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = readHolder(path);
        if (holder && isAlive(holder)) {
          throw new InputError(file, `is being written by process ${holder.pid} on ${holder.host} (lock ${path}); wait for it to finish or stop it (two writers would interleave records)`);
        }
        // A lock left by a process that is gone: take it over.
        rmSync(path, { force: true });
      }
    }
    throw new InputError(file, `could not take the lock ${path}; remove it if no moxi process writes this shard`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener('exit', this.onExit);
    rmSync(this.path, { force: true });
  }
}

function readHolder(path: string): { pid: number; host: string } | undefined {
  try {
    const [pid, host] = readFileSync(path, 'utf8').trim().split(/\s+/);
    return Number.isInteger(Number(pid)) ? { pid: Number(pid), host: host ?? '' } : undefined;
  } catch {
    return undefined;
  }
}

/** A holder on another host is taken as alive: its PID means nothing here (shared file systems). */
function isAlive(holder: { pid: number; host: string }): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
