import type { HostTensor } from '../host-tensor.ts';
import type { PatchMask } from '../models/patch-mask.ts';
import { gridShape, patchCount, prefixTokenCount, type VitConfig } from '../models/vit-config.ts';
import type { HostLinear, VitWeights } from '../models/vit-weights.ts';
import { attentionRef, gelu, layerNormRef, matmulRef } from './ops.ts';

function linearRef(x: Float32Array, l: HostLinear): Float32Array {
  return matmulRef(x, l.weight, x.length / l.inFeatures, l.inFeatures, l.outFeatures, l.bias);
}

function add(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + b[i]!);
}

/**
 * The ViT forward pass of one image under one keep-list, written the obvious way: build
 * the full token sequence, then literally drop removed tokens (token mode) or give their
 * keys -inf scores (attention mode). The GPU model must agree with this.
 */
export function vitReferenceForward(
  c: VitConfig,
  w: VitWeights,
  image: HostTensor,
  imageIndex: number,
  mask?: { mode: PatchMask['mode']; keep: readonly number[]; fromLayer?: number },
  /** Receives each block's attention probabilities [H, T, T]. */
  attentionProbs?: Float32Array[],
): Float32Array {
  const D = c.embedDim;
  const P = c.patchSize;
  const [gh, gw] = gridShape(c);
  const [, C, H, W] = image.shape as [number, number, number, number];
  const N = patchCount(c);
  const nPrefix = prefixTokenCount(c);
  const K = C * P * P;
  const cols = new Float32Array(N * K);
  for (let py = 0; py < gh; py++)
    for (let px = 0; px < gw; px++)
      for (let ch = 0; ch < C; ch++)
        for (let ky = 0; ky < P; ky++)
          for (let kx = 0; kx < P; kx++)
            cols[(py * gw + px) * K + ch * P * P + ky * P + kx] =
              image.data[((imageIndex * C + ch) * H + py * P + ky) * W + px * P + kx]!;
  const patches = linearRef(cols, w.patchEmbed);
  const tokens: Float32Array[] = [];
  const posOffset = c.noEmbedClass ? 0 : nPrefix;
  for (let t = 0; t < nPrefix; t++) {
    const tok = w.prefix.slice(t * D, (t + 1) * D);
    tokens.push(c.noEmbedClass ? tok : add(tok, w.pos.subarray(t * D, (t + 1) * D)));
  }
  for (let p = 0; p < N; p++) {
    tokens.push(add(patches.subarray(p * D, (p + 1) * D), w.pos.subarray((posOffset + p) * D, (posOffset + p + 1) * D)));
  }
  let keepTokens = tokens.map((_, i) => i);
  const visible = new Set<number>();
  if (mask) {
    const kept = [...new Set(mask.keep)].sort((a, b) => a - b).map((p) => nPrefix + p);
    const prefixIds = Array.from({ length: nPrefix }, (_, i) => i);
    if (mask.mode === 'token') keepTokens = [...prefixIds, ...kept];
    else for (const t of [...prefixIds, ...kept]) visible.add(t);
  }
  const T = keepTokens.length;
  let x: Float32Array = new Float32Array(T * D);
  keepTokens.forEach((t, i) => x.set(tokens[t]!, i * D));
  if (w.preNorm) x = layerNormRef(x, D, w.preNorm.weight, w.preNorm.bias, c.eps);

  w.blocks.forEach((b, i) => {
    const masked = mask?.mode === 'attention' && i >= (mask.fromLayer ?? 0);
    const h = layerNormRef(x, D, b.norm1.weight, b.norm1.bias, c.eps);
    const qkv = linearRef(h, b.qkv);
    const { out, probs } = attentionRef(qkv, T, c.numHeads, D / c.numHeads, masked ? (j) => visible.has(j) : undefined);
    attentionProbs?.push(probs);
    const x1 = add(x, linearRef(out, b.proj));
    const h2 = layerNormRef(x1, D, b.norm2.weight, b.norm2.bias, c.eps);
    const hidden = linearRef(h2, b.fc1).map(gelu);
    x = add(x1, linearRef(hidden, b.fc2));
  });

  const normed = w.norm ? layerNormRef(x, D, w.norm.weight, w.norm.bias, c.eps) : x;
  let features: Float32Array[];
  if (c.globalPool === 'token') {
    features = w.heads.map((_, i) => normed.slice(i * D, (i + 1) * D));
  } else {
    // Average over kept patch tokens; in attention mode removed patches still flow
    // through the blocks but are not pooled.
    const pooledTokens = keepTokens.flatMap((t, i) => (t >= nPrefix && (!mask || mask.mode === 'token' || visible.has(t)) ? [i] : []));
    const mean = new Float32Array(D);
    for (const i of pooledTokens) for (let d = 0; d < D; d++) mean[d]! += normed[i * D + d]! / pooledTokens.length;
    features = [mean];
  }
  if (w.fcNorm) {
    const fc = w.fcNorm;
    features = features.map((f) => layerNormRef(f, D, fc.weight, fc.bias, c.eps));
  }
  const logits = features.map((f, i) => linearRef(f, w.heads[i]!));
  if (logits.length === 1) return logits[0]!;
  return logits[0]!.map((v, j) => (v + logits[1]![j]!) / 2);
}
