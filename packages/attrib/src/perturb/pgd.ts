import type { HostTensor, ImageClassifier } from '@moxi/kernels';

export interface PgdOptions {
  /** L2 radius in [0, 1] pixel space (the paper: 1.0). */
  eps: number;
  stepSize: number;
  steps: number;
  /** The model's normalisation: normalised = (pixel - mean) / std, per channel. */
  mean: readonly number[];
  std: readonly number[];
}

export const PAPER_PGD: Omit<PgdOptions, 'mean' | 'std'> = { eps: 1.0, stepSize: 0.2, steps: 10 };

export interface CrossEntropyGradient {
  /** Cross-entropy of each image. */
  loss: Float64Array;
  /** d(sum of losses)/d input: each image's own gradient, NCHW. */
  gradient: Float32Array;
  logits: Float32Array;
}

/** Cross-entropy of each image against its label, and its gradient with respect to the input. */
export async function crossEntropyGradient(model: ImageClassifier, images: HostTensor, labels: readonly number[]): Promise<CrossEntropyGradient> {
  const loss = new Float64Array(labels.length);
  const result = await model.gradient(images, (logits, rows, classes, firstRow) => {
    const g = new Float32Array(rows * classes);
    for (let r = 0; r < rows; r++) {
      const z = logits.subarray(r * classes, (r + 1) * classes);
      const label = labels[firstRow + r]!;
      const max = Math.max(...z);
      let sum = 0;
      for (const v of z) sum += Math.exp(v - max);
      loss[firstRow + r] = max + Math.log(sum) - z[label]!;
      // dCE/dz = softmax(z) - onehot(label)
      for (let c = 0; c < classes; c++) g[r * classes + c] = Math.exp(z[c]! - max) / sum - (c === label ? 1 : 0);
    }
    return g;
  });
  return { loss, gradient: result.inputGradient, logits: result.logits };
}

export interface PgdResult {
  /** The adversarial images, normalised like the input. */
  adversarial: HostTensor;
  /** Pixel-space perturbation [B, C, H, W]. */
  delta: Float32Array;
  lossBefore: Float64Array;
  lossAfter: Float64Array;
  /** The cross-entropy after each step, [steps][B]; the last is lossAfter. */
  lossPerStep: Float64Array[];
}

/**
 * Untargeted L2 PGD in [0, 1] pixel space through the model's normalisation, as the
 * paper's perturbation study (docs/methods.md, "PGD"): clean pixels are clamped to [0, 1]; each
 * step moves along the unit-L2 gradient of the cross-entropy, projects onto the eps-ball
 * around the clean pixels and clamps to [0, 1] (torchattacks' PGDL2 order, no random start).
 */
export async function pgdL2(model: ImageClassifier, images: HostTensor, labels: readonly number[], o: PgdOptions): Promise<PgdResult> {
  const [B = 1, C = 1, H = 1, W = 1] = images.shape;
  const plane = H * W;
  const per = C * plane;
  const channel = (i: number) => Math.floor((i % per) / plane);
  const clean = Float32Array.from(images.data, (v, i) => Math.min(1, Math.max(0, v * o.std[channel(i)]! + o.mean[channel(i)]!)));
  const normalise = (pixels: Float32Array): HostTensor => ({ shape: images.shape, data: pixels.map((v, i) => (v - o.mean[channel(i)]!) / o.std[channel(i)]!) });
  let adv = Float32Array.from(clean);
  let lossBefore: Float64Array | undefined;
  const lossPerStep: Float64Array[] = [];
  for (let step = 0; step < o.steps; step++) {
    const { loss, gradient } = await crossEntropyGradient(model, normalise(adv), labels);
    // The loss at the start of step s is the loss after step s - 1.
    if (lossBefore === undefined) lossBefore = loss;
    else lossPerStep.push(loss);
    for (let b = 0; b < B; b++) {
      // Pixel-space gradient: d/dpixel = d/dnormalised / std.
      let norm = 0;
      for (let i = b * per; i < (b + 1) * per; i++) norm += (gradient[i]! / o.std[channel(i)]!) ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let i = b * per; i < (b + 1) * per; i++) adv[i]! += (o.stepSize * gradient[i]!) / o.std[channel(i)]! / norm;
      let dn = 0;
      for (let i = b * per; i < (b + 1) * per; i++) dn += (adv[i]! - clean[i]!) ** 2;
      const scale = Math.min(1, o.eps / (Math.sqrt(dn) || 1));
      for (let i = b * per; i < (b + 1) * per; i++) adv[i] = Math.min(1, Math.max(0, clean[i]! + (adv[i]! - clean[i]!) * scale));
    }
  }
  const adversarial = normalise(adv);
  const lossAfter = (await crossEntropyGradient(model, adversarial, labels)).loss;
  lossPerStep.push(lossAfter);
  adv = adv.map((v, i) => v - clean[i]!);
  return { adversarial, delta: adv, lossBefore: lossBefore ?? lossAfter, lossAfter, lossPerStep: o.steps > 0 ? lossPerStep : [] };
}
