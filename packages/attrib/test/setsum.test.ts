import { describe, expect, it } from 'vitest';
import { minimalCells, setSumLabel, splitDigitPools, testImages, trainingImages, SETSUM_SIZE } from '../src/eval/setsum.ts';

// Synthetic pools: sample k of digit d is a 28x28 patch filled with 10 * d + k.
const pools = Array.from({ length: 10 }, (_, d) => Array.from({ length: 10 }, (_, k) => new Uint8Array(28 * 28).fill(10 * d + k)));

describe('Visual SET-SUM', () => {
  it('labels with the sum of distinct digits (0..30)', () => {
    expect(setSumLabel([3, 3, 7, 1])).toBe(11);
    expect(setSumLabel([9, 8, 7, 6])).toBe(30);
    expect(setSumLabel([0, 0, 0, 0])).toBe(0);
    expect(minimalCells([5, 5, 2, 2])).toBe(2);
    expect(minimalCells([3, 0, 3, 1])).toBe(2);
  });

  it('keeps training and test digits apart (80 / 20 of each digit)', () => {
    const { train, test } = splitDigitPools(pools);
    expect(train[4]).toHaveLength(8);
    expect(test[4]).toHaveLength(2);
    expect(new Set([...train[4]!, ...test[4]!]).size).toBe(10);
  });

  it('test images hold their largest digit in exactly two cells, drawn from the test pool', () => {
    const { test } = splitDigitPools(pools);
    const images = [...testImages(test, 500, 3)];
    expect(images).toHaveLength(500);
    for (const image of images) {
      const max = Math.max(...image.digits);
      expect(image.digits.filter((d) => d === max)).toHaveLength(2);
      expect(image.label).toBe(setSumLabel(image.digits));
      image.digits.forEach((d, cell) => {
        const v = image.pixels[(Math.floor(cell / 2) * 28) * SETSUM_SIZE + (cell % 2) * 28]!;
        expect(Math.floor(v / 10)).toBe(d);
        expect(v % 10).toBeGreaterThanOrEqual(8);
      });
    }
  });

  it('training digits are uniform and reproducible by seed', () => {
    const { train } = splitDigitPools(pools);
    const counts = new Array<number>(10).fill(0);
    for (const image of trainingImages(train, 2000, 1)) image.digits.forEach((d) => counts[d]!++);
    counts.forEach((c) => expect(Math.abs(c - 800)).toBeLessThan(120));
    const a = [...trainingImages(train, 5, 9)].map((i) => i.digits);
    expect([...trainingImages(train, 5, 9)].map((i) => i.digits)).toEqual(a);
  });
});
