import { describe, expect, it } from 'vitest';
import { curveArea, patchCurves, patchesUntilCorrect, patchesUntilWrong, ranking } from '../src/eval/curves.ts';
import { setSumMarkdown, summarizeSetSum } from '../src/eval/setsum-report.ts';
import { orPair } from './analytic-game.ts';

describe('evaluation curves', () => {
  it('ranks by MoXI order, else by score (ties to the lowest index)', () => {
    expect(ranking({ method: 'moxi-insertion', target: 0, grid: [1, 3], scores: [2, 0, 1], order: [0, 2, 1], evaluations: 0 })).toEqual([0, 2, 1]);
    expect(ranking({ method: 'shapley-self', target: 0, grid: [1, 4], scores: [1, 3, 3, -1], evaluations: 0 })).toEqual([1, 2, 0, 3]);
  });

  it('inserts and removes the first j players of the ranking (OR pair: correct once v >= 3)', async () => {
    const game = orPair();
    const curves = await patchCurves(game, [0, 2, 1]);
    expect(game.evaluations).toBe(8);
    // Insertion: {}, {0}, {0,2}, {0,2,1} -> v 0, 2, 3, 3 -> class 1, 1, 0, 0.
    expect(curves.insertion.top1).toEqual([1, 1, 0, 0]);
    // Deletion: all, -0, -0,2, none -> v 3, 3, 2, 0.
    expect(curves.deletion.top1).toEqual([0, 0, 1, 1]);
    expect(patchesUntilCorrect(curves.insertion, 0)).toBe(2);
    expect(patchesUntilWrong(curves.deletion, 0)).toBe(2);
  });

  it('integrates with the trapezoid rule over x = j / N', () => {
    expect(curveArea([0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(curveArea([1, 1, 1, 1, 1])).toBeCloseTo(1, 12);
  });

  it('summarises SET-SUM: patches until correct / wrong and their minimal shares', () => {
    const curve = (top1: number[]) => ({ top1, targetProbability: top1.map(() => 0.5) });
    const report = summarizeSetSum('m', 4, 3, [
      { label: 7, digits: [3, 3, 4, 0], curves: { 'shapley-self': { insertion: curve([0, 3, 7, 7, 7]), deletion: curve([7, 7, 4, 0, 0]) } } },
      { label: 9, digits: [9, 9, 0, 0], curves: { 'shapley-self': { insertion: curve([0, 9, 9, 9, 9]), deletion: curve([9, 0, 0, 0, 0]) } } },
    ], ['shapley-self']);
    const row = report.rows[0]!;
    expect(report.accuracy).toBe(0.75);
    expect(row.insertionPatches).toBe(1.5);
    // Image 0 needs 2 cells (3 and 4; the 0 adds nothing), image 1 one (9).
    expect(row.insertionMinimal).toBe(1);
    expect(row.deletionPatches).toBe(1.5);
    expect(row.deletionMinimal).toBe(0.5);
    expect(row.insertionAccuracy).toEqual([0, 0.5, 1, 1, 1]);
    expect(setSumMarkdown(report).split('\n')[0]).toBe('m: accuracy 75.00% (3 of 4 test images); the 2 classified correctly are explained.');
    expect(setSumMarkdown(summarizeSetSum('m', 4, 3, [], []))).toBe('m: accuracy 75.00% (3 of 4 test images).');
  });
});
