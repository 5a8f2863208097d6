import { describe, expect, it } from 'vitest';
import type { EvaluationLine, EvaluationRecord } from '../src/eval/evaluation-record.ts';
import { evaluationCsv, evaluationMarkdown, evaluationRuntimeCsv } from '../src/eval/evaluation-report-text.ts';
import {
  BOOTSTRAP_REPLICATES,
  BOOTSTRAP_SEED,
  bootstrapMeanBand,
  bootstrapResamples,
  PlayerCountMismatchError,
  quantile,
  summarizeEvaluation,
  wilsonBand,
  wilsonInterval,
} from '../src/eval/evaluation-summary.ts';
import { SeededRandom } from '../src/random.ts';
import { curvesPlotSpec, METHOD_COLORS, METHOD_DASHES, METHOD_MARKERS } from '../src/render/curves-plot.ts';

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

describe('confidence bands', () => {
  it('Wilson interval: 8 of 10, 0 of 40 (upper z^2 / (n + z^2)), n = 0', () => {
    const [lo, hi] = wilsonInterval(8, 10);
    expect(lo).toBeCloseTo(0.4901624715, 9);
    expect(hi).toBeCloseTo(0.9433178485, 9);
    const z2 = 1.959963984540054 ** 2;
    expect(wilsonInterval(0, 40)[0]).toBe(0);
    expect(wilsonInterval(0, 40)[1]).toBeCloseTo(z2 / (40 + z2), 12);
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
    const band = wilsonBand([1, 0.5, 0], 2);
    expect(band.lower[0]).toBeCloseTo(wilsonInterval(2, 2)[0], 12);
    expect(band.upper[1]).toBeCloseTo(wilsonInterval(1, 2)[1], 12);
    expect(band.upper[2]).toBeCloseTo(wilsonInterval(0, 2)[1], 12);
  });

  it('type-7 quantiles', () => {
    expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
    expect(quantile([1, 2, 3, 4], 0.975)).toBeCloseTo(3.925, 12);
    expect(quantile([5], 0.5)).toBe(5);
  });

  it('percentile bootstrap band of a mean curve, by hand: 3 images, 4 given resamples', () => {
    const curves = [[0, 1], [1, 1], [0.5, 0]];
    // Resample means at j = 0: 0, 0.5, 1, 2/3; at j = 1: 1, 2/3, 1, 1/3.
    const band = bootstrapMeanBand(curves, [[0, 0, 0], [0, 1, 2], [1, 1, 1], [2, 2, 1]]);
    // sorted [0, 0.5, 2/3, 1]: 2.5% at h = 0.075 -> 0.0375; 97.5% at h = 2.925 -> 2/3 + 0.925 / 3
    expectNumbers(band.lower, [0.0375, 1 / 3 + 0.075 / 3]);
    expectNumbers(band.upper, [2 / 3 + 0.925 / 3, 1]);
  });

  it('resamples are drawn from mulberry32 with the fixed seed: index floor(u * n)', () => {
    const random = new SeededRandom(BOOTSTRAP_SEED);
    const expected = Array.from({ length: 2 }, () => Array.from({ length: 3 }, () => Math.floor(random.next() * 3)));
    expect(bootstrapResamples(3, 2).map((r) => [...r])).toEqual(expected);
    expect(bootstrapResamples(5).length).toBe(BOOTSTRAP_REPLICATES);
    expect(bootstrapResamples(5)).toEqual(bootstrapResamples(5));
  });

  it('the summary carries both bands; the bootstrap resamples images in name order, whatever order the lines came in', () => {
    const summary = summarizeEvaluation('m', lines);
    const moxi = summary.rows[0]!;
    expect(moxi.insertion!.images).toBe(2);
    // a.png then b.png
    const expected = bootstrapMeanBand([[0.1, 0.6, 0.9], [0.2, 0.2, 0.8]], bootstrapResamples(2));
    expect(moxi.insertion!.probabilityBand).toEqual(expected);
    expect(summarizeEvaluation('m', [...lines].reverse()).rows[0]!.insertion!.probabilityBand).toEqual(expected);
    expect(moxi.insertion!.accuracyBand).toEqual(wilsonBand([0, 0.5, 1], 2));
    // Two images, at j = 0 probability 0.1 or 0.2: every resample mean is 0.1, 0.15 or 0.2.
    expect(expected.lower[0]).toBeGreaterThanOrEqual(0.1 - 1e-12);
    expect(expected.upper[0]).toBeLessThanOrEqual(0.2 + 1e-12);
    expect(expected.lower[0]).toBeLessThan(expected.upper[0]!);
  });
});

describe('evaluationMarkdown: warnings and shards', () => {
  it('puts the warnings under the heading, then the shards table', () => {
    const summary = { ...summarizeEvaluation('models/vit', lines), warnings: ['Shard 1/2 has no records file.'] };
    summary.shards = [{ shard: '0/2', records: true, recordImages: 2, adapter: 'llvmpipe', software: true, host: 'h', images: 2, finished: 2, complete: true, updatedAt: 't' }];
    const md = evaluationMarkdown(summary).split('\n');
    expect(md.slice(0, 10)).toEqual([
      '# models/vit: 2 images, 2 patches each',
      '',
      '**Warning:**',
      '',
      '- Shard 1/2 has no records file.',
      '',
      'Shards:',
      '',
      '| shard | adapter | host | images selected | images in records | finished | updated |',
      '|---|---|---|--:|--:|---|---|',
    ]);
    expect(md[10]).toBe('| 0/2 | llvmpipe (software) | h | 2 | 2 | yes | t |');
    expect(evaluationMarkdown(summarizeEvaluation('models/vit', lines))).not.toContain('Warning');
  });
});

describe('curvesPlotSpec', () => {
  const summary = summarizeEvaluation('/data/models/vit_base', lines);
  const spec = curvesPlotSpec(summary, { font: 'DejaVu Sans' });
  type Layer = { mark: { type: string; filled?: boolean }; transform?: Array<{ filter: string }>; data?: { values: Array<Record<string, unknown>> }; encoding: Record<string, { field?: string; title?: string; scale?: { domain?: unknown; range?: unknown } }> };
  type Plot = { width: number; data: { values: Array<{ method: string; label: string; x: number; y: number; lower?: number; upper?: number; marker: boolean }> }; layer: Layer[] };
  type PanelSpec = { title: { text: string }; hconcat: [Plot, { layer: Layer[] }] };
  const panels = spec.concat as PanelSpec[];
  const plot = (i: number) => panels[i]!.hconcat[0];
  const legendLabels = (i: number) => panels[i]!.hconcat[1].layer.find((l) => l.mark.type === 'text' && l.encoding.text?.field === 'label')!.data!.values.map((v) => v.label);

  it('pairs accuracy and probability panels for insertion, deletion and each perturbation, then the PGD norms; n in every title', () => {
    expect(panels.map((p) => p.title.text)).toEqual([
      '(a) insertion: accuracy, n = 1-2',
      '(b) insertion: probability, n = 1-2',
      '(c) deletion: accuracy, n = 1-2',
      '(d) deletion: probability, n = 1-2',
      '(e) deletion, pgd: accuracy, n = 2',
      '(f) deletion, pgd: probability, n = 2',
      '(g) PGD perturbation norm per patch, n = 2',
    ]);
    expect((spec.title as { text: string }).text).toBe('vit_base: insertion and deletion curves, 2 images');
    expect((spec.config as { font: string }).font).toBe('DejaVu Sans');
    expect(spec.columns).toBe(2);
    const line = plot(0).layer.find((l) => l.mark.type === 'line')!;
    expect(line.encoding.x!.title).toBe('fraction of patches inserted');
    expect(line.encoding.y!.title).toBe('top-1 accuracy');
    expect(plot(1).layer.find((l) => l.mark.type === 'line')!.encoding.y!.title).toBe('label probability');
  });

  it('one legend entry per method with its AUC in that panel', () => {
    expect(legendLabels(0)).toEqual(['moxi (AUC 0.500)', 'random (AUC 0.250)']);
    expect(legendLabels(1)).toEqual(['moxi (AUC 0.450)', 'random (AUC 0.350)']);
    expect(legendLabels(2)).toEqual(['moxi (AUC 0.250)', 'random (AUC 0.750)']);
    expect(legendLabels(3)).toEqual(['moxi (AUC 0.475)', 'random (AUC 0.625)']);
    expect(legendLabels(4)).toEqual(['moxi (AUC 0.500)']);
    expect(legendLabels(6)).toEqual(['moxi']);
  });

  it('a band layer (lower to upper) under the curves of every accuracy and probability panel, none for the norms', () => {
    for (let i = 0; i < 6; i++) {
      const band = plot(i).layer[0]!;
      expect(band.mark.type).toBe('area');
      expect([band.encoding.y!.field, band.encoding.y2!.field]).toEqual(['lower', 'upper']);
      // MoXI's band on its own layer, a little darker, above the others' bands and below every line.
      expect(plot(i).layer[1]!.mark.type).toBe('area');
      expect(plot(i).layer[1]!.transform![0]!.filter).toBe("datum.method === 'moxi'");
      expect(plot(i).layer[2]!.mark.type).toBe('line');
    }
    expect(plot(6).layer.some((l) => l.mark.type === 'area')).toBe(false);
    const moxi = plot(1).data.values.filter((v) => v.method === 'moxi');
    expect(moxi.map((v) => [v.lower, v.upper])).toEqual(summary.rows[0]!.insertion!.probabilityBand.lower.map((lo, j) => [lo, summary.rows[0]!.insertion!.probabilityBand.upper[j]]));
    expect(plot(0).data.values.filter((v) => v.method === 'moxi').map((v) => v.lower)).toEqual(wilsonBand([0, 0.5, 1], 2).lower);
  });

  it('a dash pattern and a marker per method, alike in every panel; MoXI drawn last (on top)', () => {
    for (let i = 0; i < panels.length; i++) {
      const layers = plot(i).layer;
      const lines = layers.filter((l) => l.mark.type === 'line');
      const points = layers.filter((l) => l.mark.type === 'point');
      expect(lines.every((l) => l.encoding.strokeDash!.field === 'method')).toBe(true);
      expect(lines[0]!.encoding.strokeDash!.scale).toEqual({ domain: ['moxi', 'random'], range: [METHOD_DASHES.moxi, METHOD_DASHES.random] });
      expect(points[0]!.encoding.shape!.scale).toEqual({ domain: ['moxi', 'random'], range: [METHOD_MARKERS.moxi, METHOD_MARKERS.random] });
      expect(lines[0]!.encoding.color!.scale).toEqual({ domain: ['moxi', 'random'], range: [METHOD_COLORS.moxi, METHOD_COLORS.random] });
      expect(layers.at(-1)!.transform![0]!.filter).toBe("datum.method === 'moxi'");
      expect(lines.at(-1)!.transform![0]!.filter).toBe("datum.method === 'moxi'");
    }
    expect(new Set(Object.values(METHOD_DASHES).map((d) => d.join(','))).size).toBe(Object.keys(METHOD_DASHES).length);
    expect(new Set(Object.values(METHOD_MARKERS)).size).toBe(Object.keys(METHOD_MARKERS).length);
  });

  it('a figure of an incomplete run says so under its title', () => {
    expect((spec.title as { subtitle: string[] }).subtitle).toHaveLength(1);
    const warned = curvesPlotSpec({ ...summary, warnings: ['Shard 1/2 has no records file.', 'Another.'] });
    expect((warned.title as { subtitle: string[] }).subtitle[1]).toBe('Warnings (2, see summary.md): Shard 1/2 has no records file.');
  });

  it('plots the mean curves at x = j / N and the norms at their rank', () => {
    expect(plot(0).data.values.filter((v) => v.method === 'moxi').map((v) => [v.x, v.y])).toEqual([[0, 0], [0.5, 0.5], [1, 1]]);
    expect(plot(6).data.values.map((v) => [v.method, v.x, v.y])).toEqual([['moxi', 1, 3], ['moxi', 2, 2]]);
  });
});

describe('runtime per image (the paper\'s Table 1)', () => {
  // Three images of moxi with seconds 0.5, 1.5 and 4 (its pgd lines repeat the cost and are not counted twice).
  const timed = [
    ...lines,
    record({ image: 'd.png', method: 'moxi', perturbation: 'mask', evaluations: 7, seconds: 4, insertion: { correct: [0, 1, 1], probability: [0, 1, 1] }, deletion: { correct: [1, 0, 0], probability: [1, 0, 0] } }),
  ];
  const summary = summarizeEvaluation('models/vit', timed);

  it('gives each method the mean and median of its mask records\' seconds, their mean evaluations and 1 / mean images per second', () => {
    expect(summary.runtime.map((r) => r.method)).toEqual(['moxi', 'random']);
    const moxi = summary.runtime[0]!;
    expect(moxi.images).toBe(3);
    expect(moxi.meanSeconds).toBeCloseTo((0.5 + 1.5 + 4) / 3, 12);
    expect(moxi.medianSeconds).toBe(1.5);
    expect(moxi.evaluations).toBeCloseTo((3 + 5 + 7) / 3, 12);
    expect(moxi.imagesPerSecond).toBeCloseTo(3 / 6, 12);
    expect(summary.runtime[1]).toEqual({ method: 'random', images: 1, meanSeconds: 0, medianSeconds: 0, evaluations: 0, imagesPerSecond: Infinity });
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    const two = summarizeEvaluation('m', lines.filter((l) => !('error' in l) && l.method === 'moxi'));
    expect(two.runtime[0]!.medianSeconds).toBe(1);
  });

  it('prints the table in summary.md and runtime.csv (images/s empty where no time was measured)', () => {
    const md = evaluationMarkdown(summary).split('\n');
    expect(md).toContain('| moxi | 3 | 2.00 | 1.50 | 5 | 0.50 |');
    expect(md).toContain('| random | 1 | 0.00 | 0.00 | 0 | – |');
    expect(evaluationRuntimeCsv(summary).split('\n')).toEqual([
      'method,images,mean_seconds,median_seconds,evaluations_per_image,images_per_second',
      'moxi,3,2,1.5,5,0.5',
      'random,1,0,0,0,',
      '',
    ]);
  });
});
