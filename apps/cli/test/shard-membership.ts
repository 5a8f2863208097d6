import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '@moxi/attrib';
import { expect } from 'vitest';
import { readDataSet } from '../src/evaluate/data-set.ts';

/**
 * The images an evaluation chose, in the order of its walk (docs/evaluation.md, "Choosing
 * images"): the data set listed as `moxi evaluate` lists it, shuffled with the seed, kept
 * where the run chose the image (a record of it, an error record included). Rebuilt here
 * from the records' image set, so that a test can tell which shard each image belongs to.
 */
export function selectionInWalkOrder(data: string, seed: number, chosen: Iterable<string>): string[] {
  const wanted = new Set(chosen);
  const { entries } = readDataSet(data, 1000, undefined);
  const walk = new SeededRandom(seed).permutation(entries.length).map((i) => entries[i]!.file);
  const order = walk.filter((file) => wanted.has(file));
  expect(order.length, 'every chosen image is in the data set').toBe(wanted.size);
  return order;
}

/** Images (sorted) of one shard's records file. */
export function shardImages(out: string, index: number, count: number): string[] {
  const path = join(out, `records-${index}-of-${count}.jsonl`);
  expect(existsSync(path), path).toBe(true);
  const images = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { image: string }).image);
  return [...new Set(images)].sort();
}

/**
 * Shard i of n holds exactly the images at positions k with k mod n = i of the selection
 * (attrib's shardOf, restated here so that a change to it shows), image by image: not only
 * a subset of the right size.
 */
export function expectShardMembership(out: string, index: number, count: number, selection: readonly string[]): void {
  const expected = selection.filter((_, k) => k % count === index).sort();
  expect(expected.length).toBeGreaterThan(0);
  expect(shardImages(out, index, count), `records-${index}-of-${count}.jsonl`).toEqual(expected);
}
