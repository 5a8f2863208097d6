import { batchSlice, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import type { Perturbation } from '../eval/evaluation-record.ts';
import { deriveSeed } from '../random.ts';
import { corrupt } from './corruptions.ts';
import { PAPER_PGD, pgdL2 } from './pgd.ts';

/** A model's input normalisation: normalised = (pixel - mean) / std, per channel. */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

export interface PerturbedImages {
  /** The perturbed images, normalised like the input. */
  images: HostTensor;
  /** PGD only: the perturbation in [0, 1] pixel space, [B, C, H, W]. */
  delta?: Float32Array;
}

/**
 * Whole-image perturbations whose pixels a perturbed deletion curve pastes into the first j
 * patches (docs/perturbations.md): ImageNet-C Gaussian noise and fog at severity 5 on the
 * [0, 1] pixels the model sees, seeded by (seed, image path) so a rerun or another shard
 * gives the same pixels; untargeted L2 PGD (eps 1, step 0.2, 10 steps) against the label.
 */
export async function perturbedImages(
  kind: Perturbation,
  model: ImageClassifier,
  images: HostTensor,
  labels: readonly number[],
  keys: readonly string[],
  normalization: Normalization,
  seed: number,
): Promise<PerturbedImages> {
  if (kind === 'pgd') {
    const r = await pgdL2(model, images, labels, { ...PAPER_PGD, ...normalization });
    return { images: r.adversarial, delta: r.delta };
  }
  const [B = 0, C = 0, H = 0, W = 0] = images.shape;
  const per = C * H * W;
  const out = new Float32Array(images.data.length);
  for (let b = 0; b < B; b++) {
    const pixels = toPixels(batchSlice(images, b).data, C, H * W, normalization);
    const corrupted = corrupt(kind, { data: pixels, shape: [C, H, W] }, deriveSeed(seed, `${kind}:${keys[b]!}`));
    out.set(fromPixels(corrupted, C, H * W, normalization), b * per);
  }
  return { images: { shape: images.shape, data: out } };
}

/** Normalised CHW -> [0, 1] pixels (clamped: a normalised input may stray past the range). */
function toPixels(x: Float32Array, C: number, plane: number, n: Normalization): Float32Array {
  return x.map((v, i) => {
    const c = Math.floor(i / plane) % C;
    return Math.min(1, Math.max(0, v * n.std[c]! + n.mean[c]!));
  });
}

function fromPixels(p: Float32Array, C: number, plane: number, n: Normalization): Float32Array {
  return p.map((v, i) => {
    const c = Math.floor(i / plane) % C;
    return (v - n.mean[c]!) / n.std[c]!;
  });
}
