import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { InputError } from '@moxi/kernels';
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
  ) {}

  static open(path: string): RecordsFile {
    const done = new Set<string>();
    let keep = 0;
    let torn = 0;
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      keep = text.lastIndexOf('\n') + 1;
      torn = Buffer.byteLength(text.slice(keep));
      text
        .slice(0, keep)
        .split('\n')
        .forEach((line, k) => {
          if (line.trim() === '') return;
          let parsed: EvaluationLine;
          try {
            parsed = JSON.parse(line) as EvaluationLine;
          } catch {
            throw new InputError(`${path} line ${k + 1}`, 'is not a JSON record; the file was changed by hand or by another program (move it away to start over)');
          }
          done.add(recordKey(parsed));
        });
      keep = Buffer.byteLength(text.slice(0, keep));
    }
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    if (torn > 0) ftruncateSync(fd, keep);
    return new RecordsFile(path, fd, done, torn);
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
  }
}
