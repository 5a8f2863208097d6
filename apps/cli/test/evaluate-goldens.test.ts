import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

// `moxi evaluate` against an independent float64 PyTorch implementation of
// docs/evaluation.md (tools/fixtures/make_evaluate_goldens.py): an ImageFolder of 40 PNGs
// and one unreadable file, the small random-weight ViT (16 tokens), settings chosen once
// (seed 7: all methods and perturbations, 16 players; seed 11: 2x2 token groups, so
// rollout is pooled and Grad-CAM resized to the player grid). --batch-images 4 splits each
// run's images over two batches.
//
// Tolerances (float32 engine vs float64 reference):
// - orders, `correct`, labels, players, evaluations: identical. Exact equality is sound only
//   while every decision is clear of float32 noise; the first test of each run checks that
//   from the margins the script stores (below), and fails there, naming the decision, if a
//   regenerated fixture ever holds a near-tie, instead of excusing a mismatch. None does:
//   smallest margins 2.5e-5 (a MoXI step) and 2.1e-5 (Grad-CAM, raw map units) against
//   float32 deviations of 1.5e-6 (rewards) and 3.2e-8 (Grad-CAM).
// - probability: 1e-6 absolute (the required bound); measured max 2.2e-7 (all-methods),
//   2.4e-7 (grid2).
// - perturbationNorms (L2 of PGD's pixel delta per player, summed in float32 from a float32
//   attack): 1e-6 absolute; measured max 1.2e-7 (all-methods), 1.8e-7 (grid2).
const PROBABILITY_TOLERANCE = 1e-6;
const NORM_TOLERANCE = 1e-6;
// A margin is a near-tie below this many float32 deviations: two values are compared, each
// off by up to one deviation, and moxi's kernels sum in another order than PyTorch's float32.
const NEAR_TIE_DEVIATIONS = 4;

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const MODEL = join(FIXTURES, 'evaluate-model');
const DATA = join(FIXTURES, 'evaluate-folder');

interface Curve {
  correct: number[];
  probability: number[];
}

interface RecordLine {
  image: string;
  label: number;
  predicted: number;
  method: string;
  perturbation: string;
  players: number;
  insertionOrder: number[];
  deletionOrder: number[];
  insertion?: Curve;
  deletion: Curve;
  perturbationNorms?: number[];
  evaluations: number;
  seconds?: number;
  error?: string;
}

interface GoldenRun {
  name: string;
  args: string[];
  players: number;
  selected: string[];
  records: RecordLine[];
  errors: Array<{ image: string; label: number }>;
  decisions: Array<{ image: string; method: string; margins: number[] }>;
  top1Margins: Array<{ image: string; margin: number }>;
  walkMargins: Array<{ image: string; margin: number }>;
  float32Deviation: { reward: number; gradcam?: number; rollout?: number };
}

const golden = JSON.parse(readFileSync(join(FIXTURES, 'evaluate-goldens.json'), 'utf8')) as { runs: GoldenRun[] };
const dir = mkdtempSync(join(tmpdir(), 'moxi-evaluate-goldens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = (r: { image: string; method?: string; perturbation?: string }) => `${r.image} ${r.method ?? 'error'} ${r.perturbation ?? ''}`;
const maxAbsDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

describe.each(golden.runs)('moxi evaluate $name matches the PyTorch definitions', (run) => {
  const lines = new Map<string, RecordLine>();

  beforeAll(() => {
    const out = join(dir, run.name);
    const cli = runCli(['evaluate', '--model', MODEL, '--data', DATA, '--out', out, ...run.args, '--batch-images', '4']);
    expect(cli.code, cli.stderr).toBe(0);
    for (const text of readFileSync(join(out, 'records-0-of-1.jsonl'), 'utf8').split('\n')) {
      if (text.trim() === '') continue;
      const line = JSON.parse(text) as RecordLine;
      expect(lines.has(key(line)), `${key(line)} written twice`).toBe(false);
      lines.set(key(line), line);
    }
  });

  it('every decision of the reference is clear of float32 noise (exact orders are sound)', () => {
    const dev = run.float32Deviation;
    const scale = (method: string) => (method === 'gradcam' ? dev.gradcam! : method === 'rollout' ? dev.rollout! : dev.reward);
    const near = (margin: number, deviation: number) => margin < NEAR_TIE_DEVIATIONS * deviation;
    const nearTies = [
      ...run.decisions.flatMap((d) => d.margins.filter((m) => near(m, scale(d.method))).map((m) => `${d.image} ${d.method}: margin ${m}`)),
      ...[...run.top1Margins, ...run.walkMargins].filter((t) => near(t.margin, dev.reward)).map((t) => `${t.image} top-1: margin ${t.margin}`),
    ];
    expect(nearTies).toEqual([]);
  });

  it('writes one record per (image, method, perturbation) of the chosen images, and the error record', () => {
    const expected = [...run.records.map(key), ...run.errors.map(key)].sort();
    expect([...lines.keys()].sort()).toEqual(expected);
    expect(new Set([...lines.values()].map((l) => l.image))).toEqual(new Set(run.selected));
  });

  it.each(run.errors)('$image is an error record', (e) => {
    const line = lines.get(key(e))!;
    expect(Object.keys(line).sort()).toEqual(['error', 'image', 'label']);
    expect(line.label).toBe(e.label);
    expect(line.error).toMatch(/\S/);
  });

  it.each(run.records)('$image $method $perturbation', (want) => {
    const got = lines.get(key(want));
    expect(got, `${key(want)} is missing`).toBeDefined();
    expect(Object.keys(got!).sort()).toEqual([...Object.keys(want), 'seconds'].sort());
    expect({ label: got!.label, predicted: got!.predicted, players: got!.players, evaluations: got!.evaluations }).toEqual({
      label: want.label,
      predicted: want.predicted,
      players: want.players,
      evaluations: want.evaluations,
    });
    expect(got!.insertionOrder).toEqual(want.insertionOrder);
    expect(got!.deletionOrder).toEqual(want.deletionOrder);
    for (const name of ['insertion', 'deletion'] as const) {
      const [g, w] = [got![name], want[name]];
      if (w === undefined) continue;
      expect(g!.correct, name).toEqual(w.correct);
      expect(g!.probability).toHaveLength(run.players + 1);
      expect(maxAbsDiff(g!.probability, w.probability), `${name} probability`).toBeLessThan(PROBABILITY_TOLERANCE);
    }
    if (want.perturbationNorms) {
      expect(got!.perturbationNorms).toHaveLength(run.players);
      expect(maxAbsDiff(got!.perturbationNorms!, want.perturbationNorms), 'perturbationNorms').toBeLessThan(NORM_TOLERANCE);
    }
  });
});
