import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvaluationLine } from '@moxi/attrib';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordsFile } from '../src/evaluate/records-file.ts';

// RecordsFile on its own, without a GPU run: the promise that a key is never written twice
// (evaluate's resume relies on it, and its CLI tests would pass whether append or the
// skipping of finished images kept the file free of duplicates).
const dir = mkdtempSync(join(tmpdir(), 'moxi-records-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const curve = { correct: [1, 0], probability: [0.9, 0.1] };
const line = (image: string, method: 'moxi' | 'random', seconds = 1): EvaluationLine => ({
  image,
  label: 3,
  predicted: 3,
  method,
  perturbation: 'mask',
  players: 1,
  insertionOrder: [0],
  deletionOrder: [0],
  insertion: curve,
  deletion: curve,
  evaluations: 2,
  seconds,
});
const error = (image: string): EvaluationLine => ({ image, label: 1, error: 'not an image' });
const fileLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

describe('RecordsFile.append', () => {
  it('skips a key already in the file, whether read on open or appended by this process', () => {
    const path = join(dir, 'records-0-of-1.jsonl');
    writeFileSync(path, `${JSON.stringify(line('a.png', 'moxi'))}\n`);
    const records = RecordsFile.open(path);
    try {
      expect(records.has('a.png\u0000moxi\u0000mask')).toBe(true);
      // The key read on open, with other timings: a rerun of a finished image.
      expect(records.append([line('a.png', 'moxi', 7)])).toBe(0);
      expect(fileLines(path)).toHaveLength(1);
      // A batch mixing a done key and new ones: only the new ones, once each.
      expect(records.append([line('a.png', 'moxi', 8), line('a.png', 'random'), error('b.png')])).toBe(2);
      expect(records.append([line('a.png', 'random', 9), error('b.png')])).toBe(0);
    } finally {
      records.close();
    }
    const lines = fileLines(path).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.image, l.method ?? 'error', l.seconds ?? null])).toEqual([
      ['a.png', 'moxi', 1],
      ['a.png', 'random', 1],
      ['b.png', 'error', null],
    ]);
    // Reopened (a resume): every key is known, nothing is appended.
    const again = RecordsFile.open(path);
    try {
      expect(again.append([line('a.png', 'moxi'), line('a.png', 'random'), error('b.png')])).toBe(0);
    } finally {
      again.close();
    }
    expect(fileLines(path)).toHaveLength(3);
  });
});
