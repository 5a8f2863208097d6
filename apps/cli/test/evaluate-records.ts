import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One line of records-<i>-of-<n>.jsonl, as the evaluate tests read it. */
export interface RecordLine {
  image: string;
  method?: string;
  perturbation?: string;
  error?: string;
  seconds?: number;
  [field: string]: unknown;
}

/**
 * Every record line of an evaluation folder; a line that is not JSON fails the test, except
 * with `allowTornLastLine` the last line of a file (a process killed mid-write leaves it, and
 * the next run cuts it off).
 */
export function readRecordLines(out: string, options: { allowTornLastLine?: boolean } = {}): RecordLine[] {
  return readdirSync(out)
    .filter((f) => /^records-.*\.jsonl$/.test(f))
    .flatMap((f) => {
      const lines = readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== '');
      return lines.flatMap((l, i) => {
        try {
          return [JSON.parse(l) as RecordLine];
        } catch (error) {
          if (options.allowTornLastLine && i === lines.length - 1) return [];
          throw error;
        }
      });
    });
}

export const recordKey = (l: RecordLine) => `${l.image}|${l.method ?? ''}|${l.perturbation ?? ''}|${l.error === undefined ? '' : 'error'}`;

/** Records without their timing, sorted by (image, method, perturbation): what two runs must agree on. */
export function comparableRecords(lines: RecordLine[]): RecordLine[] {
  return lines.map(({ seconds: _seconds, ...rest }) => rest as RecordLine).sort((a, b) => (recordKey(a) < recordKey(b) ? -1 : recordKey(a) > recordKey(b) ? 1 : 0));
}
