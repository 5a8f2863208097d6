import { describe, expect, it } from 'vitest';
import type { EvaluationLine, EvaluationRecord } from '../src/eval/evaluation-record.ts';
import { evaluationCsv, evaluationMarkdown } from '../src/eval/evaluation-report-text.ts';
import { PlayerCountMismatchError, summarizeEvaluation } from '../src/eval/evaluation-summary.ts';
import { curvesPlotSpec, METHOD_COLORS } from '../src/render/curves-plot.ts';

// Two images (a, b), N = 2 players, so every curve has 3 points and AUC = (y0 + 2 y1 + y2) / 4.
function record(r: Pick<EvaluationRecord, 'image' | 'method' | 'perturbation' | 'deletion' | 'evaluations' | 'seconds'> & Partial<EvaluationRecord>): EvaluationRecord {
  return { label: 1, predicted: 1, players: 2, insertionOrder: [0, 1], deletionOrder: [0, 1], ...r };
}

const lines: EvaluationLine[] = [
  record({ image: 'b.png', method: 'moxi', perturbation: 'pgd', deletion: { correct: [1, 1, 0], probability: [0.7, 0.4, 0] }, perturbationNorms: [4, 3], evaluations: 3, seconds: 0.5 }),
  record({
    image: 'a.png', method: 'random', perturbation: 'mask', evaluations: 0, seconds: 0,
    insertion: { correct: [0, 0, 1], probability: [0.1, 0.3, 0.7] },
    deletion: { correct: [1, 1, 0], probability: [0.9, 0.7, 0.2] },
  }),
  record({
    image: 'a.png', method: 'moxi', perturbation: 'mask', evaluations: 3, seconds: 0.5,
    insertion: { correct: [0, 1, 1], probability: [0.1, 0.6, 0.9] },
    deletion: { correct: [1, 0, 0], probability: [0.9, 0.3, 0.1] },
  }),
  { image: 'c.png', label: 4, error: 'not a PNG or JPEG' },
  record({
    image: 'b.png', method: 'moxi', perturbation: 'mask', evaluations: 5, seconds: 1.5,
    insertion: { correct: [0, 0, 1], probability: [0.2, 0.2, 0.8] },
    deletion: { correct: [1, 0, 0], probability: [0.8, 0.6, 0.2] },
  }),
  record({ image: 'a.png', method: 'moxi', perturbation: 'pgd', deletion: { correct: [1, 0, 0], probability: [0.9, 0.2, 0] }, perturbationNorms: [2, 1], evaluations: 3, seconds: 0.5 }),
];

const expectNumbers = (actual: readonly number[] | undefined, expected: number[]) => {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((v, i) => expect(actual![i]).toBeCloseTo(v, 12));
};

describe('summarizeEvaluation', () => {
  const summary = summarizeEvaluation('models/vit', lines);

  it('counts images, players and error lines; rows in method order, mask before perturbations', () => {
    expect(summary.model).toBe('models/vit');
    expect(summary.players).toBe(2);
    expect(summary.images).toBe(2);
    expect(summary.errors).toEqual([{ image: 'c.png', label: 4, error: 'not a PNG or JPEG' }]);
    expect(summary.rows.map((r) => `${r.method}/${r.perturbation}/${r.images}`)).toEqual(['moxi/mask/2', 'moxi/pgd/2', 'random/mask/1']);
  });

  it('averages the curves over images and integrates them by the trapezoid rule over j / N', () => {
    const [moxi, pgd, random] = summary.rows;
    expectNumbers(moxi!.insertion!.accuracy, [0, 0.5, 1]);
    expectNumbers(moxi!.insertion!.probability, [0.15, 0.4, 0.85]);
    expect(moxi!.insertion!.accuracyAuc).toBeCloseTo(0.5, 12);
    expect(moxi!.insertion!.probabilityAuc).toBeCloseTo(0.45, 12);
    expectNumbers(moxi!.deletion.accuracy, [1, 0, 0]);
    expectNumbers(moxi!.deletion.probability, [0.85, 0.45, 0.15]);
    expect(moxi!.deletion.accuracyAuc).toBeCloseTo(0.25, 12);
    expect(moxi!.deletion.probabilityAuc).toBeCloseTo(0.475, 12);
    expect(moxi!.evaluations).toBe(4);
    expect(moxi!.seconds).toBe(1);
    expect(moxi!.perturbationNorms).toBeUndefined();

    expect(pgd!.insertion).toBeUndefined();
    expectNumbers(pgd!.deletion.accuracy, [1, 0.5, 0]);
    expect(pgd!.deletion.accuracyAuc).toBeCloseTo(0.5, 12);
    expect(pgd!.deletion.probabilityAuc).toBeCloseTo(0.35, 12);
    expectNumbers(pgd!.perturbationNorms, [3, 2]);

    expect(random!.insertion!.accuracyAuc).toBeCloseTo(0.25, 12);
    expect(random!.insertion!.probabilityAuc).toBeCloseTo(0.35, 12);
    expect(random!.deletion.accuracyAuc).toBeCloseTo(0.75, 12);
    expect(random!.deletion.probabilityAuc).toBeCloseTo(0.625, 12);
  });

  it('refuses records with different numbers of players, naming both images', () => {
    const other = record({ image: 'big.png', method: 'moxi', perturbation: 'fog', players: 3, deletion: { correct: [1, 1, 0, 0], probability: [1, 1, 0, 0] }, evaluations: 1, seconds: 1 });
    expect(() => summarizeEvaluation('m', [...lines, other])).toThrow(PlayerCountMismatchError);
    expect(() => summarizeEvaluation('m', [...lines, other])).toThrow('b.png has 2, big.png has 3');
  });

  it('writes the markdown table with AUCs, costs and errors, and the PGD norms', () => {
    const md = evaluationMarkdown(summary).split('\n');
    expect(md[0]).toBe('# models/vit: 2 images, 2 patches each');
    expect(md).toContain('| moxi | mask | 2 | 0.500 | 0.250 | 0.450 | 0.475 | 4 | 1.00 |');
    expect(md).toContain('| moxi | pgd | 2 | – | 0.500 | – | 0.350 | 3 | 0.500 |');
    expect(md).toContain('| random | mask | 1 | 0.250 | 0.750 | 0.350 | 0.625 | 0 | 0.00 |');
    expect(md).toContain('Images that could not be read: 1: c.png (not a PNG or JPEG).');
    expect(md).toContain('| method | rank 1 | rank 2 |');
    expect(md).toContain('| moxi | 3.000 | 2.000 |');
  });

  it('writes curves.csv in long format: insertion/deletion per j, pgd-norm per rank', () => {
    const csv = evaluationCsv(summary).trimEnd().split('\n');
    expect(csv[0]).toBe('method,perturbation,curve,patches,fraction,accuracy,probability,norm,images');
    expect(csv).toHaveLength(1 + 3 + 3 + 3 + 2 + 3 + 3);
    expect(csv[1]).toBe('moxi,mask,insertion,0,0,0,0.15,,2');
    expect(csv[2]).toBe('moxi,mask,insertion,1,0.5,0.5,0.4,,2');
    expect(csv[4]).toBe('moxi,mask,deletion,0,0,1,0.85,,2');
    expect(csv.slice(7, 12)).toEqual([
      'moxi,pgd,deletion,0,0,1,0.8,,2',
      'moxi,pgd,deletion,1,0.5,0.5,0.3,,2',
      'moxi,pgd,deletion,2,1,0,0,,2',
      'moxi,pgd,pgd-norm,1,0.5,,,3,2',
      'moxi,pgd,pgd-norm,2,1,,,2,2',
    ]);
    expect(csv.at(-1)).toBe('random,mask,deletion,2,1,0,0.2,,1');
  });
});

describe('curvesPlotSpec', () => {
  const summary = summarizeEvaluation('/data/models/vit_base', lines);
  const spec = curvesPlotSpec(summary, { font: 'DejaVu Sans' });
  type PanelSpec = { title: { text: string }; data: { values: Array<{ method: string; x: number; y: number }> }; encoding: Record<string, { title?: string; scale?: { domain?: unknown; range?: unknown } }> };
  const panels = spec.concat as PanelSpec[];

  it('lays out insertion, deletion, one deletion panel per perturbation and the PGD norms, titled with the model and images', () => {
    expect(panels.map((p) => p.title.text)).toEqual(['(a) insertion', '(b) deletion', '(c) deletion, pgd', '(d) PGD perturbation norm per patch']);
    expect((spec.title as { text: string }).text).toBe('vit_base: insertion and deletion curves, 2 images');
    expect((spec.config as { font: string }).font).toBe('DejaVu Sans');
    expect(panels[0]!.encoding.x!.title).toBe('fraction of patches inserted');
    expect(panels[0]!.encoding.y!.title).toBe('top-1 accuracy');
  });

  it('plots the mean curves at x = j / N and the norms at their rank, one colour per method in every panel', () => {
    expect(panels[0]!.data.values.filter((v) => v.method === 'moxi')).toEqual([
      { method: 'moxi', x: 0, y: 0 },
      { method: 'moxi', x: 0.5, y: 0.5 },
      { method: 'moxi', x: 1, y: 1 },
    ]);
    expect(panels[3]!.data.values).toEqual([
      { method: 'moxi', x: 1, y: 3 },
      { method: 'moxi', x: 2, y: 2 },
    ]);
    for (const p of panels) {
      expect(p.encoding.color!.scale).toEqual({ domain: ['moxi', 'random'], range: [METHOD_COLORS.moxi, METHOD_COLORS.random] });
    }
  });
});
