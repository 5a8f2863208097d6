import { InputError, OptionError, prefixTokenCount, VisionTransformer, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import { attentionRefusal } from '../attribution.ts';
import { targetLogitGradient } from './logit-gradient.ts';

export interface CheferResult {
  /** Relevance of each patch token to the target logit, row-major on the token grid, raw. */
  scores: number[];
  grid: [number, number];
  /** Forward + backward passes run (always 1). */
  passes: number;
}

/**
 * Chefer et al. 2021 relevance for a ViT (docs/methods.md): one forward + backward of the
 * target logit z_y capturing every block's attention P_b and G_b = dz_y/dP_b; then
 * Abar_b = mean over heads of max(0, G_b * P_b), R = I, R = R + Abar_b R in forward order;
 * the scores are R's class-token row over the patch columns (every prefix column dropped),
 * not normalised.
 */
export async function cheferRelevance(model: ImageClassifier, image: HostTensor, target: number): Promise<CheferResult> {
  if (!(model instanceof VisionTransformer)) throw new OptionError('method', attentionRefusal('chefer'));
  const c = model.config;
  if (!c.classToken || c.globalPool !== 'token') {
    // The rule reads the relevance of the token the classifier reads; with average pooling
    // the logits come from the mean of the patch tokens, and no one row stands for them.
    const why = c.classToken ? 'its head reads the mean of the patch tokens, not the class token' : 'it has no class token and its head reads the mean of the patch tokens';
    throw new OptionError('method', `Chefer relevance reads the class token's row of the relevance matrix, and this ViT pools by global average: ${why}`);
  }
  if (!Number.isInteger(target) || target < 0 || target >= c.numClasses) throw new InputError('target', `class ${target} is not one of the model's ${c.numClasses} classes`);
  const result = await model.gradient(image, targetLogitGradient(target), { captureAttention: true });
  const { probabilities, gradients } = result.attention!;
  const [gh, gw] = model.grid;
  const nPrefix = prefixTokenCount(c);
  const T = nPrefix + gh * gw;
  const R = propagateRelevance(probabilities, gradients, c.numHeads, T);
  // Row 0 is the class token: timm puts it before the distillation and register tokens.
  return { scores: Array.from({ length: gh * gw }, (_, p) => R[nPrefix + p]!), grid: [gh, gw], passes: 1 };
}

/**
 * The relevance matrix R [T, T] (row-major, float64) of image 0 from each block's P and
 * dz/dP ([H, T, T] at the start of each array), blocks in forward order.
 */
export function propagateRelevance(probabilities: ArrayLike<number>[], gradients: ArrayLike<number>[], heads: number, T: number): Float64Array {
  let R = new Float64Array(T * T);
  for (let i = 0; i < T; i++) R[i * T + i] = 1;
  probabilities.forEach((P, b) => {
    const G = gradients[b]!;
    const fused = new Float64Array(T * T);
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < T * T; i++) fused[i]! += Math.max(0, G[h * T * T + i]! * P[h * T * T + i]!) / heads;
    const next = Float64Array.from(R);
    for (let i = 0; i < T; i++)
      for (let k = 0; k < T; k++) {
        const a = fused[i * T + k]!;
        if (a === 0) continue;
        for (let j = 0; j < T; j++) next[i * T + j]! += a * R[k * T + j]!;
      }
    R = next;
  });
  return R;
}
