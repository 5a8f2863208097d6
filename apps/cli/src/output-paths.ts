import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { usageError } from './cli-error.ts';

/**
 * Output paths are checked before any work (loading a model, hours of evaluation): the
 * folder must exist, be a folder, and accept a new file. Writability is tested by creating
 * and removing a probe file, because permission bits say nothing about read-only mounts,
 * /proc or /sys, and root passes every access() check.
 */
function probeWritable(flag: string, given: string, folder: string): void {
  // Unique across processes and hosts: shards of one evaluation may probe one shared folder at once.
  const probe = resolve(folder, `.moxi-write-probe-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, '', { flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code === 'ENOSPC' ? 'no space left' : `files cannot be created there (${code})`;
    throw usageError(flag, `${given}: cannot write into ${folder}: ${why}; choose another location`);
  }
  unlinkSync(probe);
}

/** A file to be written: its folder exists and is writable, and the path is not a folder. */
export function checkOutputFile(flag: string, path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw usageError(flag, `${path} is a folder; give a file name`);
  const folder = dirname(path);
  if (!existsSync(folder)) throw usageError(flag, `${path}: folder ${folder} does not exist; create it first or choose another path`);
  if (!statSync(folder).isDirectory()) throw usageError(flag, `${path}: ${folder} is a file, not a folder; choose another location`);
  probeWritable(flag, path, folder);
}

/**
 * A folder to be created or filled: an existing one must be a writable folder; a new one
 * is created later (with its parents), so its nearest existing ancestor must be a writable
 * folder. Returns whether it exists and holds anything.
 */
export function checkOutputFolder(flag: string, folder: string): { exists: boolean; empty: boolean } {
  if (existsSync(folder)) {
    if (!statSync(folder).isDirectory()) throw usageError(flag, `${folder} exists and is a file, not a folder; choose a folder`);
    probeWritable(flag, folder, folder);
    return { exists: true, empty: readdirSync(folder).length === 0 };
  }
  let ancestor = dirname(resolve(folder));
  while (!existsSync(ancestor)) ancestor = dirname(ancestor);
  if (!statSync(ancestor).isDirectory()) throw usageError(flag, `${folder}: ${ancestor} is a file, not a folder; choose another location`);
  probeWritable(flag, folder, ancestor);
  return { exists: false, empty: true };
}

/** Written next to its final name, then renamed: a failed or killed run leaves no half-written file. */
export function writeFileAtomically(path: string, data: string | Uint8Array): void {
  const partial = `${path}.partial`;
  writeFileSync(partial, data);
  renameSync(partial, path);
}
