import { patchCount, prefixTokenCount, type VitConfig } from './vit-config.ts';
import { transposeMatrix, WeightReader, type TensorSource } from './weight-reader.ts';

/** A linear layer in kernel layout: weight [in, out] (transposed from PyTorch's [out, in]). */
export interface HostLinear {
  weight: Float32Array;
  bias?: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

export interface HostNorm {
  weight: Float32Array;
  bias: Float32Array;
}

export interface VitBlockWeights {
  norm1: HostNorm;
  qkv: HostLinear;
  proj: HostLinear;
  norm2: HostNorm;
  fc1: HostLinear;
  fc2: HostLinear;
}

/**
 * A ViT's weights in one canonical form, whatever the checkpoint format. LayerScale
 * gammas are folded into the projections they scale (gamma * (W x + b)), and the patch
 * convolution is a linear layer over unfolded patches.
 */
export interface VitWeights {
  patchEmbed: HostLinear;
  /** Class, distillation, register tokens in sequence order: [nPrefix * D]. */
  prefix: Float32Array;
  /** [posRows * D]; posRows = nPrefix + Np, or Np when noEmbedClass. */
  pos: Float32Array;
  preNorm?: HostNorm;
  blocks: VitBlockWeights[];
  /** Applied to the tokens before pooling (timm `norm`, HF `layernorm`). */
  norm?: HostNorm;
  /** Applied after average pooling (timm `fc_norm`). */
  fcNorm?: HostNorm;
  /** One head, or two (class, distillation) whose logits are averaged. */
  heads: HostLinear[];
}

function linear(r: WeightReader, name: string, outF: number, inF: number, bias = true): HostLinear {
  const w = r.take(`${name}.weight`, [outF, inF]);
  const layer: HostLinear = { weight: transposeMatrix(w, outF, inF), inFeatures: inF, outFeatures: outF };
  if (bias) layer.bias = r.take(`${name}.bias`, [outF]);
  return layer;
}

function norm(r: WeightReader, name: string, D: number): HostNorm {
  return { weight: r.take(`${name}.weight`, [D]), bias: r.take(`${name}.bias`, [D]) };
}

/** Folds a LayerScale gamma into the layer that feeds it. */
function scaleOutputs(layer: HostLinear, gamma: Float32Array): HostLinear {
  const { weight, bias, inFeatures: K, outFeatures: N } = layer;
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) weight[k * N + n]! *= gamma[n]!;
  if (bias) for (let n = 0; n < N; n++) bias[n]! *= gamma[n]!;
  return layer;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function patchEmbedLinear(r: WeightReader, name: string, c: VitConfig, bias: boolean): HostLinear {
  const K = c.inChans * c.patchSize * c.patchSize;
  const w = r.take(`${name}.weight`, [c.embedDim, c.inChans, c.patchSize, c.patchSize]);
  const layer: HostLinear = { weight: transposeMatrix(w, c.embedDim, K), inFeatures: K, outFeatures: c.embedDim };
  if (bias) layer.bias = r.take(`${name}.bias`, [c.embedDim]);
  return layer;
}

function configHint(c: VitConfig): string {
  return `config says ${c.name}: ${c.depth} blocks, dim ${c.embedDim}, ${c.numHeads} heads, ${c.numClasses} classes, patch ${c.patchSize}, image ${c.imgSize.join('x')}`;
}

/** timm VisionTransformer / VisionTransformerDistilled state dict. */
export function vitWeightsFromTimm(c: VitConfig, source: TensorSource): VitWeights {
  const r = new WeightReader(source);
  r.expectNumbered('blocks.', c.depth, 'blocks', configHint(c));
  const D = c.embedDim;
  const prefixParts: Float32Array[] = [];
  if (c.classToken) prefixParts.push(r.take('cls_token', [1, 1, D]));
  if (c.distillationToken) prefixParts.push(r.take('dist_token', [1, 1, D]));
  if (c.regTokens > 0) prefixParts.push(r.take('reg_token', [1, c.regTokens, D]));
  const posRows = patchCount(c) + (c.noEmbedClass ? 0 : prefixTokenCount(c));
  const weights: VitWeights = {
    patchEmbed: patchEmbedLinear(r, 'patch_embed.proj', c, !c.preNorm),
    prefix: concat(prefixParts),
    pos: r.take('pos_embed', [1, posRows, D]),
    blocks: [],
    heads: [linear(r, 'head', c.numClasses, D)],
  };
  if (c.preNorm) weights.preNorm = norm(r, 'norm_pre', D);
  for (let i = 0; i < c.depth; i++) {
    const b = `blocks.${i}`;
    const block: VitBlockWeights = {
      norm1: norm(r, `${b}.norm1`, D),
      qkv: linear(r, `${b}.attn.qkv`, 3 * D, D, c.qkvBias),
      proj: linear(r, `${b}.attn.proj`, D, D),
      norm2: norm(r, `${b}.norm2`, D),
      fc1: linear(r, `${b}.mlp.fc1`, c.mlpHidden, D),
      fc2: linear(r, `${b}.mlp.fc2`, D, c.mlpHidden),
    };
    if (c.layerScale) {
      scaleOutputs(block.proj, r.take(`${b}.ls1.gamma`, [D]));
      scaleOutputs(block.fc2, r.take(`${b}.ls2.gamma`, [D]));
    }
    weights.blocks.push(block);
  }
  if (c.fcNorm) weights.fcNorm = norm(r, 'fc_norm', D);
  else weights.norm = norm(r, 'norm', D);
  if (c.distillationHead) weights.heads.push(linear(r, 'head_dist', c.numClasses, D));
  r.finish(configHint(c));
  return weights;
}

/** transformers ViTForImageClassification / DeiTForImageClassification(WithTeacher). */
export function vitWeightsFromHuggingFace(c: VitConfig, source: TensorSource): VitWeights {
  const root = c.distillationToken ? 'deit' : 'vit';
  // Pooler and mask token exist in some exports but take no part in classification.
  const r = new WeightReader(source, new RegExp(`^${root}\\.(pooler\\.|embeddings\\.mask_token$)`));
  r.expectNumbered(`${root}.encoder.layer.`, c.depth, 'blocks', configHint(c));
  const D = c.embedDim;
  const prefixParts = [r.take(`${root}.embeddings.cls_token`, [1, 1, D])];
  if (c.distillationToken) prefixParts.push(r.take(`${root}.embeddings.distillation_token`, [1, 1, D]));
  const weights: VitWeights = {
    patchEmbed: patchEmbedLinear(r, `${root}.embeddings.patch_embeddings.projection`, c, true),
    prefix: concat(prefixParts),
    pos: r.take(`${root}.embeddings.position_embeddings`, [1, patchCount(c) + prefixTokenCount(c), D]),
    blocks: [],
    norm: norm(r, `${root}.layernorm`, D),
    heads: c.distillationHead
      ? [linear(r, 'cls_classifier', c.numClasses, D), linear(r, 'distillation_classifier', c.numClasses, D)]
      : [linear(r, 'classifier', c.numClasses, D)],
  };
  for (let i = 0; i < c.depth; i++) {
    const l = `${root}.encoder.layer.${i}`;
    const q = linear(r, `${l}.attention.attention.query`, D, D, c.qkvBias);
    const k = linear(r, `${l}.attention.attention.key`, D, D, c.qkvBias);
    const v = linear(r, `${l}.attention.attention.value`, D, D, c.qkvBias);
    weights.blocks.push({
      norm1: norm(r, `${l}.layernorm_before`, D),
      qkv: fuseQkv(q, k, v),
      proj: linear(r, `${l}.attention.output.dense`, D, D),
      norm2: norm(r, `${l}.layernorm_after`, D),
      fc1: linear(r, `${l}.intermediate.dense`, c.mlpHidden, D),
      fc2: linear(r, `${l}.output.dense`, D, c.mlpHidden),
    });
  }
  r.finish(configHint(c));
  return weights;
}

/** Separate q, k, v projections -> one [D, 3D] projection in timm's (3, H, Dh) order. */
function fuseQkv(q: HostLinear, k: HostLinear, v: HostLinear): HostLinear {
  const D = q.inFeatures;
  const weight = new Float32Array(D * 3 * D);
  [q, k, v].forEach((part, j) => {
    for (let i = 0; i < D; i++) weight.set(part.weight.subarray(i * D, (i + 1) * D), i * 3 * D + j * D);
  });
  const fused: HostLinear = { weight, inFeatures: D, outFeatures: 3 * D };
  if (q.bias && k.bias && v.bias) fused.bias = concat([q.bias, k.bias, v.bias]);
  return fused;
}

/** Parameters as the checkpoint counts them (LayerScale gammas included). */
export function vitParameterCount(w: VitWeights, layerScale = false): number {
  const linear = (l: HostLinear) => l.weight.length + (l.bias?.length ?? 0);
  const norm = (n: HostNorm | undefined) => (n ? n.weight.length + n.bias.length : 0);
  let total = linear(w.patchEmbed) + w.prefix.length + w.pos.length + norm(w.preNorm) + norm(w.norm) + norm(w.fcNorm);
  for (const b of w.blocks) {
    total += norm(b.norm1) + norm(b.norm2) + linear(b.qkv) + linear(b.proj) + linear(b.fc1) + linear(b.fc2);
    if (layerScale) total += 2 * b.proj.outFeatures;
  }
  return total + w.heads.reduce((a, h) => a + linear(h), 0);
}
