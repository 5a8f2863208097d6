import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CURVE_KINDS,
  curveKey,
  curveKindsOf,
  ERROR_RECORD_FIELDS,
  errorKey,
  evaluationLineProblem,
  EVALUATION_METHODS,
  missingMethods,
  RECORD_FIELDS,
  recordKey,
  type EvaluationRecord,
} from '../src/eval/evaluation-record.ts';

// The evaluation record is defined once, here: its type, its fields, its validator, its curve
// kinds and the resume question. docs/evaluation.md describes it; a test keeps the two equal.

const record: EvaluationRecord = {
  image: 'cat/1.png',
  label: 3,
  predicted: 3,
  method: 'moxi',
  perturbation: 'mask',
  players: 2,
  insertionOrder: [1, 0],
  deletionOrder: [0, 1],
  insertion: { correct: [0, 1, 1], probability: [0.1, 0.6, 0.9] },
  deletion: { correct: [1, 0, 0], probability: [0.9, 0.3, 0.1] },
  evaluations: 6,
  seconds: 0.5,
};

describe('the evaluation record', () => {
  it('lists its fields in the order they are written, and the docs list the same fields', () => {
    expect(Object.keys(record).every((k) => (RECORD_FIELDS as readonly string[]).includes(k))).toBe(true);
    const docs = readFileSync(new URL('../../../docs/evaluation.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Records'), docs.indexOf('\n## ', docs.indexOf('## Records') + 1));
    const rows = section.split('\n').filter((l) => /^\| `/.test(l));
    const documented = rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`(\w+)`/g)].map((m) => m[1]));
    expect(documented.sort()).toEqual([...RECORD_FIELDS].sort());
    expect(section).toContain(`{ ${ERROR_RECORD_FIELDS.map((f) => `"${f}"`).join(', ')} }`);
    const kinds = rows.find((r) => r.startsWith('| `perturbation`'))!;
    expect([...kinds.split('|')[2]!.matchAll(/`([\w-]+)`/g)].map((m) => m[1])).toEqual([...CURVE_KINDS]);
  });

  it('has curve kinds mask first, then the perturbations in their order', () => {
    expect(CURVE_KINDS[0]).toBe('mask');
    expect(curveKindsOf([])).toEqual(['mask']);
    expect(curveKindsOf(['pgd', 'gaussian-noise'])).toEqual(['mask', 'gaussian-noise', 'pgd']);
  });

  it('keys a record by image, method and curve kind, and an error by image', () => {
    expect(recordKey(record)).toBe(curveKey('cat/1.png', 'moxi', 'mask'));
    expect(recordKey({ image: 'cat/1.png', label: 3, error: 'truncated' })).toBe(errorKey('cat/1.png'));
    expect(curveKey('a', 'moxi', 'fog')).not.toBe(curveKey('a', 'moxi', 'mask'));
  });

  it('answers what a resumed run must compute: the methods lacking some curve kind', () => {
    const written = new Set([curveKey('a', 'moxi', 'mask'), curveKey('a', 'moxi', 'fog'), curveKey('a', 'random', 'mask')]);
    const has = (key: string) => written.has(key);
    expect(missingMethods(has, 'a', ['moxi', 'random', 'gradcam'], ['mask'])).toEqual(['gradcam']);
    expect(missingMethods(has, 'a', ['moxi', 'random'], ['mask', 'fog'])).toEqual(['random']);
    expect(missingMethods(has, 'b', ['moxi'], ['mask'])).toEqual(['moxi']);
    expect(missingMethods(has, 'a', EVALUATION_METHODS.filter((m) => m === 'moxi'), ['mask', 'fog'])).toEqual([]);
  });

  it('validates a line field by field', () => {
    expect(evaluationLineProblem(record)).toBeUndefined();
    expect(evaluationLineProblem({ image: 'x.png', label: 1, error: 'no such file' })).toBeUndefined();
    expect(evaluationLineProblem([])).toBe('is not a JSON object');
    expect(evaluationLineProblem({ ...record, method: 'shapley-exact' })).toBe(`"method" "shapley-exact" is not one of ${EVALUATION_METHODS.join(', ')}`);
    expect(evaluationLineProblem({ ...record, perturbation: 'blur' })).toBe('"perturbation" "blur" is not one of mask, gaussian-noise, fog, pgd');
    expect(evaluationLineProblem({ ...record, predicted: 'cat' })).toBe('"predicted" of cat/1.png is not an integer');
    expect(evaluationLineProblem({ ...record, deletionOrder: [0, 2] })).toBe('"deletionOrder" of cat/1.png is not a list of players 0..1');
    expect(evaluationLineProblem({ ...record, insertion: undefined })).toBe('the mask record of cat/1.png has no "insertion" curve');
    expect(evaluationLineProblem({ ...record, deletion: { correct: [1, 0], probability: [0.9, 0.1] } })).toBe('"deletion.correct" of cat/1.png is not 3 numbers (players + 1)');
    expect(evaluationLineProblem({ ...record, perturbationNorms: [1] })).toBe('"perturbationNorms" of cat/1.png is not 2 numbers (players)');
  });
});
