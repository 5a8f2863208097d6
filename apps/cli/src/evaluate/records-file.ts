import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { readRecordLines } from './records-reader.ts';
import { ShardLock } from './shard-lock.ts';
import { recordKey, type EvaluationLine } from '@moxi/attrib';

/**
 * One shard's append-only JSONL file. On open, the lines already there are read (a torn
 * last line, left by a killed process, is cut off so the next line starts clean); every
 * image's lines are then appended with one write and flushed to disk before the next image,
 * so a rerun finds exactly the lines that were done and never writes a key twice.
 */
export class RecordsFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly done: Set<string>,
    /** Bytes of a torn last line that were cut off on open (0 when the file ended cleanly). */
    readonly tornBytes: number,
    private readonly lock: ShardLock,
  ) {}

  /**
   * Opens the file for this process alone (a ShardLock), refusing when another one writes it;
   * or under a lock the caller already holds (then released by close()).
   */
  static open(path: string, held?: ShardLock): RecordsFile {
    if (held) return RecordsFile.openLocked(path, held);
    const lock = ShardLock.acquire(path);
    try {
      return RecordsFile.openLocked(path, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  private static openLocked(path: string, lock: ShardLock): RecordsFile {
    const done = new Set<string>();
    let torn = 0;
    if (existsSync(path)) {
      const read = readRecordLines(path);
      read.lines.forEach((line) => done.add(recordKey(line)));
      torn = statSync(path).size - read.intactBytes;
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, read.intactBytes);
      // A last line that is whole but lost its newline: end it, so the next line starts clean.
      const last = Buffer.alloc(1);
      if (read.intactBytes > 0 && readSync(fd, last, 0, 1, read.intactBytes - 1) === 1 && last[0] !== 10) writeSync(fd, '\n', read.intactBytes);
      return new RecordsFile(path, fd, done, torn, lock);
    }
    return new RecordsFile(path, openSync(path, 'w+'), done, torn, lock);
  }

  has(key: string): boolean {
    return this.done.has(key);
  }

  /** Appends lines (one image's), flushed to disk; keys already present are skipped. */
  append(lines: readonly EvaluationLine[]): number {
    const fresh = lines.filter((l) => !this.done.has(recordKey(l)));
    if (fresh.length === 0) return 0;
    const text = fresh.map((l) => `${JSON.stringify(l)}\n`).join('');
    const bytes = Buffer.from(text);
    // Appending at the end, whatever the file position: the file is ours alone (one shard, one process).
    const end = fstatSync(this.fd).size;
    let written = 0;
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written, end + written);
    fsyncSync(this.fd);
    fresh.forEach((l) => this.done.add(recordKey(l)));
    return fresh.length;
  }

  close(): void {
    closeSync(this.fd);
    this.lock.release();
  }
}
