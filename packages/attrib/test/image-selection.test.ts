import { describe, expect, it } from 'vitest';
import { selectImages, shardOf, type Classification } from '../src/eval/image-selection.ts';
import { SeededRandom } from '../src/random.ts';

// Ten images, labels 0/1 alternating; the "model" is right on even indices except 4, and
// image 6 cannot be read.
const labels = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
const classify = async (indices: number[]): Promise<Classification[]> =>
  indices.map((i) => (i === 6 ? { error: `image ${i} is broken` } : { predicted: i % 2 === 0 && i !== 4 ? labels[i]! : 1 - labels[i]! }));

describe('choosing images as the official code does', () => {
  it('walks the seeded shuffle and keeps correct images until n, errors on the way included', async () => {
    const order = new SeededRandom(5).permutation(10);
    const selected = await selectImages(labels, { images: 2 }, 5, classify, 3);
    const correct = order.filter((i) => i % 2 === 0 && i !== 4 && i !== 6);
    const stop = order.indexOf(correct[1]!);
    const expected = order.slice(0, stop + 1).filter((i) => i === 6 || correct.includes(i));
    expect(selected.map((s) => s.index)).toEqual(expected);
    expect(selected.filter((s) => s.error === undefined)).toHaveLength(2);
  });

  it('does not depend on the classification chunk size', async () => {
    const runs = await Promise.all([1, 2, 3, 7, 64].map((chunk) => selectImages(labels, { images: 3 }, 9, classify, chunk)));
    // The three correct images asked for (an empty selection would agree with itself too).
    expect(runs[0]!.filter((s) => s.error === undefined)).toHaveLength(3);
    for (const r of runs) expect(r).toEqual(runs[0]);
  });

  it('per class: k correct of each class; an unreadable image is recorded whatever its class', async () => {
    // Class 1 is never right; the walk reaches the end and meets the broken image 6 (class 0) after or before class 0 is full.
    for (const seed of [0, 1, 2, 3]) {
      const selected = await selectImages(labels, { perClass: 1 }, seed, classify, 4);
      expect(selected.filter((s) => s.error === undefined).map((s) => labels[s.index])).toEqual([0]);
      expect(selected.filter((s) => s.error !== undefined).map((s) => s.index)).toEqual([6]);
    }
  });

  it('deals the chosen list round-robin to shards', () => {
    const chosen = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(shardOf(chosen, { index: 0, count: 3 })).toEqual(['a', 'd', 'g']);
    expect(shardOf(chosen, { index: 2, count: 3 })).toEqual(['c', 'f']);
    expect([0, 1, 2].flatMap((index) => shardOf(chosen, { index, count: 3 })).sort()).toEqual(chosen);
  });
});
