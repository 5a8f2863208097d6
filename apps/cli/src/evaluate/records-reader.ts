import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { evaluationLineProblem, recordKey, type EvaluationLine, type ShardProgress } from '@moxi/attrib';
import { InputError } from '@moxi/kernels';

/** The shard files of an evaluation folder: `records-<shard>.jsonl`. */
export const SHARD_FILE = /^records-.+\.jsonl$/;

export interface RecordFile {
  lines: EvaluationLine[];
  /** The last line was cut short by a killed run and is ignored. */
  tornTail: boolean;
  /**
   * Bytes taken by the whole lines before any torn tail (the file's size when there is
   * none): a resumed run truncates the file to this length before it appends, writing a
   * newline first if the kept part does not end with one.
   */
  intactBytes: number;
}

/**
 * Reads one shard. Every line must be an `EvaluationLine`, except a last line that is not
 * JSON at all: the run that wrote it was killed mid-write, and it is dropped.
 */
export function readRecordLines(path: string): RecordFile {
  const lines: EvaluationLine[] = [];
  const { tornTail, intactBytes } = scanRecordFile(path, (line) => lines.push(line));
  return { lines, tornTail, intactBytes };
}

/** `readRecordLines` without holding the lines: each goes to `onLine` in file order. */
export function scanRecordFile(path: string, onLine: (line: EvaluationLine, lineNumber: number) => void): Omit<RecordFile, 'lines'> {
  // A line is known to be the last only once the next one (or the end) is seen, so it is held back one step.
  let held: { text: string; number: number; end: number } | undefined;
  let intactBytes = 0;
  const accept = (h: { text: string; number: number; end: number }, value: unknown) => {
    const problem = evaluationLineProblem(value);
    if (problem) throw new InputError(path, `line ${h.number}: ${problem}; every line must be one record of moxi evaluate`);
    onLine(value as EvaluationLine, h.number);
    intactBytes = h.end;
  };
  forEachLine(path, (text, number, end) => {
    if (text.trim() === '') return;
    if (held) accept(held, parseJson(held.text, path, held.number));
    held = { text, number, end };
  });
  if (!held) return { tornTail: false, intactBytes };
  let value: unknown;
  try {
    value = JSON.parse(held.text);
  } catch {
    return { tornTail: true, intactBytes };
  }
  accept(held, value);
  return { tornTail: false, intactBytes };
}

export interface DuplicateLine {
  file: string;
  lineNumber: number;
  image: string;
}

export interface ShardScan {
  /** Shard files read, in natural name order (records-2-of-10 before records-10-of-10). */
  files: string[];
  /** Shards whose torn last line was ignored. */
  torn: string[];
  /** Lines skipped because an earlier line (in the order above) had the same `recordKey`. */
  duplicates: DuplicateLine[];
  /** Distinct images (error lines included) in each file of `files`, duplicates included. */
  imagesPerFile: number[];
}

/**
 * Every shard of an evaluation folder, each `recordKey` once (the first line seen wins),
 * streamed to `onLine` so that millions of lines never sit in memory together.
 */
export function scanAllShards(dir: string, onLine: (line: EvaluationLine) => void): ShardScan {
  const files = shardFiles(dir);
  const seen = new Set<string>();
  const scan: ShardScan = { files, torn: [], duplicates: [], imagesPerFile: [] };
  for (const file of files) {
    const images = new Set<string>();
    const { tornTail } = scanRecordFile(file, (line, lineNumber) => {
      images.add(line.image);
      const key = recordKey(line);
      if (seen.has(key)) {
        scan.duplicates.push({ file, lineNumber, image: line.image });
        return;
      }
      seen.add(key);
      onLine(line);
    });
    if (tornTail) scan.torn.push(file);
    scan.imagesPerFile.push(images.size);
  }
  return scan;
}

/** `records-<i>-of-<n>.jsonl` and `shard-<i>-of-<n>.json`: the shard a file belongs to. */
export function shardOfFile(name: string): { index: number; count: number } | undefined {
  const m = /^(?:records|shard)-(\d+)-of-(\d+)\.jsonl?$/.exec(name);
  return m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
}

/** A shard-<i>-of-<n>.json read from the run folder, with where it came from. */
export interface ShardStatus extends ShardProgress {
  file: string;
  index: number;
  count: number;
}

/**
 * Every DIR/shard-<i>-of-<n>.json (absent from folders of older runs: then none). Fields of
 * the wrong type are left out; a file that is not a JSON object is reported in `unreadable`.
 */
export function readShardStatuses(dir: string): { statuses: ShardStatus[]; unreadable: string[] } {
  const statuses: ShardStatus[] = [];
  const unreadable: string[] = [];
  const names = readdirSync(dir)
    .filter((name) => /^shard-\d+-of-\d+\.json$/.test(name))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  for (const name of names) {
    const file = join(dir, name);
    const shard = shardOfFile(name)!;
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      unreadable.push(file);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      unreadable.push(file);
      continue;
    }
    const v = value as Record<string, unknown>;
    const status: ShardStatus = { file, ...shard };
    for (const key of ['adapter', 'host', 'updatedAt'] as const) if (typeof v[key] === 'string') status[key] = v[key];
    for (const key of ['software', 'complete'] as const) if (typeof v[key] === 'boolean') status[key] = v[key];
    for (const key of ['images', 'finished'] as const) if (typeof v[key] === 'number' && Number.isInteger(v[key]) && (v[key] as number) >= 0) status[key] = v[key] as number;
    statuses.push(status);
  }
  return { statuses, unreadable };
}

/** `scanAllShards` with the lines kept, for callers that need them all (a resumed run's done set). */
export function readAllShards(dir: string): ShardScan & { lines: EvaluationLine[] } {
  const lines: EvaluationLine[] = [];
  return { ...scanAllShards(dir, (line) => lines.push(line)), lines };
}

/** The shard paths of DIR; refuses a missing folder or one without shards. */
export function shardFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new InputError(dir, 'no such folder; give the --out folder of a moxi evaluate run');
  if (!statSync(dir).isDirectory()) throw new InputError(dir, 'is not a folder; give the --out folder of a moxi evaluate run');
  const names = readdirSync(dir)
    .filter((name) => SHARD_FILE.test(name))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (names.length === 0) throw new InputError(dir, 'has no records-*.jsonl files; write them with moxi evaluate --out DIR');
  return names.map((name) => join(dir, name));
}

function parseJson(text: string, path: string, lineNumber: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError(path, `line ${lineNumber} is not JSON; every line must be one record of moxi evaluate`);
  }
}

const CHUNK_BYTES = 1 << 20;

/** Calls `onLine` with each line's text (no newline), its 1-based number and the byte offset just past it. */
function forEachLine(path: string, onLine: (text: string, lineNumber: number, end: number) => void): void {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let pending: Buffer[] = [];
    let offset = 0;
    let lineNumber = 0;
    for (let n = readSync(fd, chunk, 0, CHUNK_BYTES, null); n > 0; n = readSync(fd, chunk, 0, CHUNK_BYTES, null)) {
      const view = chunk.subarray(0, n);
      let from = 0;
      for (let newline = view.indexOf(10); newline !== -1; newline = view.indexOf(10, from)) {
        pending.push(view.subarray(from, newline));
        onLine(Buffer.concat(pending).toString('utf8'), ++lineNumber, offset + newline + 1);
        pending = [];
        from = newline + 1;
      }
      // The chunk buffer is reused by the next read: keep a copy of the unfinished line.
      if (from < n) pending.push(Buffer.from(view.subarray(from)));
      offset += n;
    }
    if (pending.length > 0) onLine(Buffer.concat(pending).toString('utf8'), ++lineNumber, offset);
  } finally {
    closeSync(fd);
  }
}

