import { describe, expect, it } from 'vitest';
import type { EvaluationRecord } from '../src/eval/evaluation-record.ts';
import { summarizeEvaluation } from '../src/eval/evaluation-summary.ts';
import { comparedCurves, comparisonCsv, comparisonMarkdown, type ComparedRun } from '../src/eval/run-comparison.ts';
import { comparePlotSpec } from '../src/render/compare-plot.ts';
import { patchesUntilFlip, patchSelectionSvg } from '../src/render/patch-selection-svg.ts';

function maskRecord(image: string, method: EvaluationRecord['method'], players: number, insertion: number[], deletion: number[], seconds = 1): EvaluationRecord {
  const curve = (correct: number[]) => ({ correct, probability: correct.map((c) => c * 0.5) });
  const order = Array.from({ length: players }, (_, i) => players - 1 - i);
  return { image, label: 3, predicted: 3, method, perturbation: 'mask', players, insertionOrder: order, deletionOrder: order, insertion: curve(insertion), deletion: curve(deletion), evaluations: 10, seconds };
}

// Run A: 2 players (AUC = (y0 + 2 y1 + y2) / 4); run B: 4 players, another model, a method A lacks.
const runA: ComparedRun = {
  label: 'k = 0',
  summary: summarizeEvaluation('models/a', [maskRecord('x.png', 'moxi', 2, [0, 1, 1], [1, 0, 0]), maskRecord('y.png', 'moxi', 2, [0, 0, 1], [1, 1, 0]), maskRecord('x.png', 'random', 2, [0, 0, 1], [1, 1, 0])]),
};
const runB: ComparedRun = {
  label: 'k = 3',
  summary: summarizeEvaluation('models/b', [maskRecord('x.png', 'moxi', 4, [0, 0, 1, 1, 1], [1, 1, 0, 0, 0], 3), maskRecord('x.png', 'gradcam', 4, [0, 0, 0, 1, 1], [1, 0, 0, 0, 0])]),
};

describe('run comparison', () => {
  it('gives every run its own report\'s mean curves and AUCs, per curve and method, runs in the given order', () => {
    const curves = comparedCurves([runA, runB]);
    expect(curves.map((c) => `${c.curve}/${c.method}/${c.label}`)).toEqual([
      'insertion/moxi/k = 0', 'insertion/moxi/k = 3', 'insertion/gradcam/k = 3', 'insertion/random/k = 0',
      'deletion/moxi/k = 0', 'deletion/moxi/k = 3', 'deletion/gradcam/k = 3', 'deletion/random/k = 0',
    ]);
    for (const c of curves) {
      const run = c.label === 'k = 0' ? runA : runB;
      const row = run.summary.rows.find((r) => r.method === c.method)!;
      expect(c.mean).toBe(c.curve === 'insertion' ? row.insertion : row.deletion);
    }
    // moxi insertion in A: mean accuracy [0, 0.5, 1] -> (0 + 1 + 1) / 4.
    expect(curves[0]!.mean.accuracyAuc).toBeCloseTo(0.5, 12);
  });

  it('tables the AUCs by run (– where a run lacks the method) and the mean seconds by run', () => {
    const md = comparisonMarkdown([runA, runB]).split('\n');
    expect(md).toContain('| k = 0 | models/a | 2 | 2 |');
    expect(md).toContain('| curve | perturbation | method | k = 0 | k = 3 |');
    expect(md).toContain('| insertion | mask | moxi | 0.500 | 0.625 |');
    expect(md).toContain('| insertion | mask | gradcam | – | 0.375 |');
    expect(md).toContain('| deletion | mask | moxi | 0.500 | 0.375 |');
    expect(md).toContain('| moxi | 1.00 | 3.00 |');
  });

  it('writes every run\'s curves in long format with their AUCs', () => {
    const csv = comparisonCsv([runA, runB]).trimEnd().split('\n');
    expect(csv[0]).toBe('run,method,perturbation,curve,patches,fraction,accuracy,probability,images,accuracy_auc,probability_auc');
    expect(csv.slice(1, 4)).toEqual(['k = 0,moxi,mask,insertion,0,0,0,0,2,0.5,0.25', 'k = 0,moxi,mask,insertion,1,0.5,0.5,0.25,2,0.5,0.25', 'k = 0,moxi,mask,insertion,2,1,1,0.5,2,0.5,0.25']);
    expect(csv.filter((l) => l.startsWith('k = 3,moxi,mask,insertion')).map((l) => l.split(',')[5])).toEqual(['0', '0.25', '0.5', '0.75', '1']);
  });

  it('draws one panel per curve and method, one colour per run alike in every panel', () => {
    const spec = comparePlotSpec([runA, runB]) as { concat: Array<{ title: { text: string }; encoding: { color: { scale: { domain: string[]; range: string[] } } } }> };
    // gradcam and random are in one run each: in the table, not in the figure.
    expect(spec.concat.map((p) => p.title.text)).toEqual(['(a) moxi: insertion', '(b) moxi: deletion']);
    const moxi = spec.concat[0]!.encoding.color.scale;
    expect(moxi.domain).toEqual(['k = 0 (AUC 0.500)', 'k = 3 (AUC 0.625)']);
    // Runs keep their colour in every panel, whichever runs a panel has.
    const alone = comparePlotSpec([runB, { ...runB, label: 'again' }]) as typeof spec;
    const gradcam = alone.concat.find((p) => p.title.text.includes('gradcam: insertion'))!.encoding.color.scale;
    expect(gradcam.range).toEqual([moxi.range[0], moxi.range[1]]);
    expect(() => comparePlotSpec(Array.from({ length: 11 }, (_, i) => ({ ...runA, label: `r${i}` })))).toThrow(/at most 10 runs/);
  });
});

describe('patch selections (the paper\'s Fig. 11/12)', () => {
  it('takes the patches moved until the first flip of the prediction, or none when it never flips', () => {
    const order = [5, 2, 7, 0];
    expect(patchesUntilFlip('insertion', order, { correct: [0, 0, 1, 0, 1], probability: [] })).toEqual([5, 2]);
    expect(patchesUntilFlip('insertion', order, { correct: [1, 1, 1, 1, 1], probability: [] })).toEqual([]);
    expect(patchesUntilFlip('insertion', order, { correct: [0, 0, 0, 0, 0], probability: [] })).toBeUndefined();
    expect(patchesUntilFlip('deletion', order, { correct: [1, 1, 1, 0, 0], probability: [] })).toEqual([5, 2, 7]);
    expect(patchesUntilFlip('deletion', order, { correct: [1, 1, 1, 1, 1], probability: [] })).toBeUndefined();
  });

  it('outlines exactly the chosen patches of each cell and captions their count', () => {
    const image = { width: 4, height: 4, data: new Uint8Array(48).fill(200) };
    const svg = patchSelectionSvg({
      curve: 'deletion', grid: [2, 2], methods: ['moxi', 'random'], title: 'T',
      rows: [{ image, name: 'a.png', label: '3', selections: { moxi: [3], random: undefined } }],
    });
    const outlines = [...svg.matchAll(/stroke="#d73027" stroke-width="2"/g)];
    expect(outlines).toHaveLength(1);
    // Patch 3 of a 2 x 2 grid in the first column: x = 150 + 66, y = 92 + 66 (cells of 132 px).
    expect(svg).toContain('<rect x="217" y="159" width="64" height="64" fill="none" stroke="#d73027" stroke-width="2"/>');
    expect(svg).toContain('>1 patch</text>');
    expect(svg).toContain('>never wrong</text>');
  });
});
