import { SeededRandom } from '../random.ts';

/** Which images a data-set evaluation explains (docs/evaluation.md, "Choosing images"). */
export type SelectionPolicy = { images: number } | { perClass: number };

/** What classifying one image gave: its top-1 class, or why it could not be read. */
export type Classification = { predicted: number } | { error: string };

export interface SelectedImage {
  /** Index into the data set's list. */
  index: number;
  /** Top-1 class on the full image (equal to the label), absent for an unreadable image. */
  predicted?: number;
  /** Why the image could not be read: it gets an error record, and the run goes on. */
  error?: string;
}

/**
 * As the official MoXI code does: shuffle the data set with `seed`, then walk it and keep
 * the images the model classifies correctly until `images` are kept (or `perClass` of each
 * class). Every unreadable image met on the way is kept as an error (whatever its class). Classification runs in
 * chunks (`classify` gets data-set indices in walk order); the result does not depend on the
 * chunk size, only on the data set, the model, the policy and the seed.
 */
export async function selectImages(
  labels: readonly number[],
  policy: SelectionPolicy,
  seed: number,
  classify: (indices: number[]) => Promise<Classification[]>,
  chunk = 64,
  onWalked?: (walked: number, kept: number) => void,
): Promise<SelectedImage[]> {
  const order = new SeededRandom(seed).permutation(labels.length);
  const perClassKept = new Map<number, number>();
  const classes = new Set(labels);
  let kept = 0;
  const wants = (label: number) => ('images' in policy ? kept < policy.images : (perClassKept.get(label) ?? 0) < policy.perClass);
  const satisfied = () => ('images' in policy ? kept >= policy.images : [...classes].every((c) => (perClassKept.get(c) ?? 0) >= policy.perClass));
  const selected: SelectedImage[] = [];
  for (let start = 0; start < order.length && !satisfied(); start += chunk) {
    const indices = order.slice(start, start + chunk);
    const results = await classify(indices);
    for (let k = 0; k < indices.length && !satisfied(); k++) {
      const index = indices[k]!;
      const label = labels[index]!;
      const r = results[k]!;
      if ('error' in r) selected.push({ index, error: r.error });
      else if (wants(label) && r.predicted === label) {
        selected.push({ index, predicted: r.predicted });
        kept += 1;
        perClassKept.set(label, (perClassKept.get(label) ?? 0) + 1);
      }
    }
    onWalked?.(Math.min(order.length, start + chunk), kept);
  }
  return selected;
}

/** A shard's share of the selection: position k goes to shard k mod count (deterministic, balanced). */
export function shardOf<T>(selected: readonly T[], shard: { index: number; count: number }): T[] {
  return selected.filter((_, k) => k % shard.count === shard.index);
}
