/** A small seeded PRNG (mulberry32): sampling methods are reproducible with --seed. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }

  /** A uniformly random subset of `size` elements of `from`. */
  subset(from: readonly number[], size: number): number[] {
    const pool = [...from];
    for (let i = 0; i < size; i++) {
      const j = i + Math.floor(this.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, size);
  }
}

/**
 * A 32-bit seed for one item of a seeded run, e.g. (the run's --seed, an image's path): the
 * same pair always gives the same seed, on every machine and in any order of processing.
 * FNV-1a over the key's UTF-8 bytes, then over the 4 little-endian bytes of `seed >>> 0`,
 * finished with murmur3's fmix32 so that nearby seeds and keys give unrelated streams.
 */
export function deriveSeed(seed: number, key: string): number {
  let h = 0x811c9dc5;
  const eat = (byte: number) => {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  };
  for (const byte of new TextEncoder().encode(key)) eat(byte);
  const s = seed >>> 0;
  for (let shift = 0; shift < 32; shift += 8) eat((s >>> shift) & 0xff);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
