import { SeededRandom } from '../random.ts';

/**
 * Visual SET-SUM (paper App. A; docs/setsum.md): a 56x56 image of 2x2 MNIST digits,
 * labelled with the sum of the *distinct* digit values (31 classes, 0..30). Test images
 * hold their largest digit in exactly two cells, so one copy is redundant: a method that
 * sees interactions skips it, single-patch scores do not.
 */
export const SETSUM_CELL = 28;
export const SETSUM_SIZE = 2 * SETSUM_CELL;
export const SETSUM_CLASSES = 31;
/** Share of each digit's MNIST samples drawn for training; the rest are test-only. */
export const SETSUM_TRAIN_SHARE = 0.8;

/** 28x28 MNIST samples per digit value, grey levels 0..255. */
export type DigitPools = ReadonlyArray<ReadonlyArray<Uint8Array>>;

export interface SetSumImage {
  /** 56 x 56 grey levels, row-major. */
  pixels: Uint8Array;
  /** Digit values of the cells, row-major: top-left, top-right, bottom-left, bottom-right. */
  digits: [number, number, number, number];
  label: number;
}

export function setSumLabel(digits: readonly number[]): number {
  return [...new Set(digits)].reduce((a, b) => a + b, 0);
}

/** Splits each digit's samples: the first 80% for training, the rest for testing. */
export function splitDigitPools(pools: DigitPools): { train: DigitPools; test: DigitPools } {
  return {
    train: pools.map((p) => p.slice(0, Math.floor(p.length * SETSUM_TRAIN_SHARE))),
    test: pools.map((p) => p.slice(Math.floor(p.length * SETSUM_TRAIN_SHARE))),
  };
}

function compose(pools: DigitPools, digits: [number, number, number, number], random: SeededRandom): SetSumImage {
  const pixels = new Uint8Array(SETSUM_SIZE * SETSUM_SIZE);
  digits.forEach((d, cell) => {
    const pool = pools[d]!;
    const sample = pool[Math.floor(random.next() * pool.length)]!;
    const [oy, ox] = [Math.floor(cell / 2) * SETSUM_CELL, (cell % 2) * SETSUM_CELL];
    for (let y = 0; y < SETSUM_CELL; y++) pixels.set(sample.subarray(y * SETSUM_CELL, (y + 1) * SETSUM_CELL), (oy + y) * SETSUM_SIZE + ox);
  });
  return { pixels, digits, label: setSumLabel(digits) };
}

/** Training composites: four digits drawn uniformly and independently. */
export function* trainingImages(pools: DigitPools, count: number, seed: number): Generator<SetSumImage> {
  const random = new SeededRandom(seed);
  for (let i = 0; i < count; i++) {
    const digits = [0, 0, 0, 0].map(() => Math.floor(random.next() * 10)) as [number, number, number, number];
    yield compose(pools, digits, random);
  }
}

/**
 * Test composites: the largest digit m (1..9) in exactly two cells chosen at random, the
 * other two cells uniform below m (they may repeat each other).
 */
export function* testImages(pools: DigitPools, count: number, seed: number): Generator<SetSumImage> {
  const random = new SeededRandom(seed);
  for (let i = 0; i < count; i++) {
    const m = 1 + Math.floor(random.next() * 9);
    const cells = random.subset([0, 1, 2, 3], 2);
    const digits = [0, 1, 2, 3].map((c) => (cells.includes(c) ? m : Math.floor(random.next() * m))) as [number, number, number, number];
    yield compose(pools, digits, random);
  }
}

/**
 * The fewest cells that give an image's label: one copy of each distinct digit, leaving
 * out 0, which adds nothing to the sum (a blank cell and a 0 are worth the same).
 */
export function minimalCells(digits: readonly number[]): number {
  return new Set(digits.filter((d) => d !== 0)).size;
}
