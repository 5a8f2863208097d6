import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { InputError } from '@moxi/kernels';
import { readDataSet } from '../src/evaluate/data-set.ts';

// The evaluate data CSV (file,label) fuzzed like the kernels' parsers (packages/kernels/test/
// io/fuzz-parsers.test.ts): every damaged or hostile file loads or is refused with an
// InputError, never another exception. Fixed seed; FUZZ_SEED / FUZZ_SCALE as there.
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'moxi-fuzz-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'a.png'), 'x');
writeFileSync(join(dir, 'b.png'), 'x');

const cell = fc.oneof(fc.constantFrom('a.png', 'b.png', '0', '3', '30', '31', '-1', '1e3', 'cat', '', ' ', '..', '../a.png', '/etc/passwd', '"a.png"', 'a.png,1'), fc.string({ maxLength: 8 }));
const line = fc.oneof(fc.tuple(cell, cell).map(([f, l]) => `${f},${l}`), cell, fc.constantFrom('', ',', ',,', '\r', 'file,label'));
const csv = fc.tuple(fc.constantFrom('file,label', 'label,file', 'file,label,extra', '', 'FILE,LABEL', '\ufefffile,label'), fc.array(line, { maxLength: 6 }), fc.constantFrom('\n', '\r\n')).map(([header, lines, eol]) => [header, ...lines].join(eol));

describe('fuzzed evaluate data CSV (fixed seed)', () => {
  it('loads or refuses with an InputError (500 files)', () => {
    let k = 0;
    fc.assert(
      fc.property(csv, fc.option(fc.array(fc.constantFrom('cat', 'dog', '3', ''), { maxLength: 4 }), { nil: undefined }), (text, labels) => {
        const path = join(dir, `case-${k++}.csv`);
        writeFileSync(path, text);
        try {
          readDataSet(path, 31, labels);
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
        }
      }),
      { seed: SEED, numRuns: Math.round(500 * SCALE), endOnFailure: true },
    );
  });
});
