import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import type { HostTensor } from '../host-tensor.ts';
import { activationBackward, gelu } from '../ops/activation.ts';
import { attention, attentionBackward } from '../ops/attention.ts';
import { layerNorm, layerNormBackward } from '../ops/layernorm.ts';
import { linear, linearBackward } from '../ops/matmul.ts';
import { scaleAdd } from '../ops/scale-add.ts';
import { averageBackward, embedTokens, gatherRows, meanTokens, patchCol2im, patchIm2col, scatterRows } from '../ops/tokens.ts';
import { chunkedGradient, finishGradient, GRADIENT_CHUNK, type AttentionGradients, type GradientOptions, type GradientResult, type OutputGradient } from './gradient.ts';
import { gridShape, patchCount, prefixTokenCount } from './vit-config.ts';
import type { VitParts } from './vit-parts.ts';

interface SavedBlock {
  x: GpuTensor;
  h1: GpuTensor;
  qkv: GpuTensor;
  probabilities: GpuTensor;
  x1: GpuTensor;
  pre: GpuTensor;
}

/**
 * Input gradient of a ViT (no patch mask): a forward pass that keeps what backward needs
 * (block inputs, norm1 outputs, qkv, attention probabilities, MLP pre-activations), the
 * logits read back for the caller's loss, then the backward pass block by block, every
 * buffer released as soon as it is used. captureAttention reads each block's probabilities
 * and dL/d(probabilities) back as the backward pass reaches that block.
 */
export function vitGradient(vit: VitParts, images: HostTensor, outputGradient: OutputGradient, options: GradientOptions = {}): Promise<GradientResult> {
  return chunkedGradient(images, GRADIENT_CHUNK, outputGradient, (part, chunkGradient) => vitGradientChunk(vit, part, chunkGradient, options));
}

async function vitGradientChunk(vit: VitParts, images: HostTensor, outputGradient: OutputGradient, options: GradientOptions): Promise<GradientResult> {
  const e = vit.engine;
  const c = vit.config;
  const B = images.shape[0]!;
  const D = c.embedDim;
  const nPrefix = prefixTokenCount(c);
  const N = patchCount(c);
  const T = nPrefix + N;
  const input = e.upload(images.data, images.shape);

  const cols = patchIm2col(e, input, c.patchSize);
  e.release(input);
  const patches = linear(e, cols, vit.patchEmbed, { label: 'patch-embed' });
  e.release(cols);
  const tokens = embedTokens(e, patches, B, vit.prefix, nPrefix, vit.pos, !c.noEmbedClass);
  e.release(patches);
  let x = vit.preNorm ? layerNorm(e, tokens, vit.preNorm) : tokens;
  const saved: SavedBlock[] = [];
  for (const block of vit.blocks) {
    const h1 = layerNorm(e, x, block.norm1, undefined, 'norm1');
    const qkv = linear(e, h1, block.qkv, { label: 'qkv' });
    const att = attention(e, qkv, { heads: c.numHeads, withProbabilities: true });
    const x1 = linear(e, att.out, block.proj, { residual: x, label: 'proj' });
    e.release(att.out);
    const h2 = layerNorm(e, x1, block.norm2, undefined, 'norm2');
    const pre = linear(e, h2, block.fc1, { label: 'fc1' });
    e.release(h2);
    const act = gelu(e, pre);
    const x2 = linear(e, act, block.fc2, { residual: x1, label: 'fc2' });
    e.release(act);
    saved.push({ x, h1, qkv, probabilities: att.probabilities!, x1, pre });
    x = x2;
  }
  const xn = vit.norm ? layerNorm(e, x, vit.norm, undefined, 'norm') : x;
  // Pooled features: the prefix row(s) read by the head(s), or the mean of the patch tokens.
  const headRows = vit.heads.map((_, i) => Uint32Array.from({ length: B }, (_, r) => r * T + i));
  const poolKeep = Uint32Array.from({ length: B * T }, (_, i) => (i % T >= nPrefix ? 1 : 0));
  const keepTensor = c.globalPool === 'avg' ? e.upload(poolKeep, [B, T]) : undefined;
  const pooled: GpuTensor[] = keepTensor
    ? [meanTokens(e, xn, keepTensor)]
    : headRows.map((rows) => {
        const index = e.upload(rows, [B]);
        const f = gatherRows(e, xn, index, D, [B, D], 'select-token');
        e.release(index);
        return f;
      });
  const features = vit.fcNorm ? pooled.map((p) => layerNorm(e, p, vit.fcNorm!, undefined, 'fc-norm')) : pooled;
  const headLogits = features.map((f, i) => linear(e, f, vit.heads[i]!, { label: 'head' }));
  const logitsTensor = headLogits.length === 1 ? headLogits[0]! : scaleAdd(e, headLogits[0]!, headLogits[1]!, 0.5, 0.5);
  const logits = await e.read(logitsTensor);
  e.release(...headLogits, logitsTensor === headLogits[0] ? undefined : logitsTensor);

  // Backward.
  const classes = c.numClasses;
  const dLogits = e.upload(outputGradient(logits, B, classes, 0), [B, classes]);
  const dHead = vit.heads.length === 2 ? scaleAdd(e, dLogits, dLogits, 0.5, 0) : dLogits;
  const dFeatures = vit.heads.map((head) => linearBackward(e, dHead, head));
  if (dHead !== dLogits) e.release(dHead);
  e.release(dLogits);
  const dPooled = vit.fcNorm ? dFeatures.map((d, i) => layerNormBackward(e, pooled[i]!, vit.fcNorm!, d)) : dFeatures;
  let dXn: GpuTensor;
  if (keepTensor) {
    dXn = averageBackward(e, dPooled[0]!, T, keepTensor).view([B, T, D]);
  } else {
    // Scatter each head's gradient back to its prefix row.
    const stacked = e.empty([dPooled.length * B, D]);
    dPooled.forEach((d, i) => e.copy(d, 0, stacked, i * B * D, B * D));
    const index = new Uint32Array(dPooled.length * B);
    headRows.forEach((rows, i) => index.set(rows, i * B));
    dXn = scatterRows(e, stacked, index, B * T, D).view([B, T, D]);
    e.release(stacked);
  }
  e.release(keepTensor, ...pooled, ...(features === pooled ? [] : features), ...dFeatures, ...(dPooled === dFeatures ? [] : dPooled));
  let dX = vit.norm ? layerNormBackward(e, x, vit.norm, dXn) : dXn;
  if (dX !== dXn) e.release(dXn);
  if (xn !== x) e.release(xn);
  e.release(x);

  let cam: GradientResult['cam'];
  const captured: AttentionGradients | undefined = options.captureAttention ? { probabilities: [], gradients: [] } : undefined;
  for (let i = vit.blocks.length - 1; i >= 0; i--) {
    const block = vit.blocks[i]!;
    const s = saved[i]!;
    const dAct = linearBackward(e, dX, block.fc2);
    const dPre = activationBackward(e, s.pre, dAct, 'gelu');
    const dH2 = linearBackward(e, dPre, block.fc1);
    const dX1 = layerNormBackward(e, s.x1, block.norm2, dH2, dX);
    e.release(dAct, dPre, dH2, dX, s.pre);
    const dAtt = linearBackward(e, dX1, block.proj);
    const dProbabilities = captured ? e.empty(s.probabilities.shape) : undefined;
    const dQkv = attentionBackward(e, s.qkv, s.probabilities, dAtt, c.numHeads, undefined, dProbabilities);
    const dH1 = linearBackward(e, dQkv, block.qkv);
    if (captured) {
      captured.probabilities[i] = await e.read(s.probabilities);
      captured.gradients[i] = await e.read(dProbabilities!);
    }
    e.release(dAtt, dQkv, s.qkv, s.probabilities, dProbabilities);
    if (options.captureCam && i === vit.blocks.length - 1) {
      cam = { activation: await e.read(s.h1), gradient: await e.read(dH1), positions: T, channels: D, skip: nPrefix, grid: gridShape(c) };
    }
    dX = layerNormBackward(e, s.x, block.norm1, dH1, dX1);
    e.release(dH1, dX1, s.h1, s.x1);
    // Block 0's input is the token table (or its pre-norm), still needed below.
    if (i > 0) e.release(s.x);
  }
  let dTokens = dX;
  if (vit.preNorm) {
    dTokens = layerNormBackward(e, tokens, vit.preNorm, dX);
    e.release(dX, saved[0]!.x);
  }
  e.release(tokens);
  const patchIndex = Uint32Array.from({ length: B * N }, (_, k) => Math.floor(k / N) * T + nPrefix + (k % N));
  const index = e.upload(patchIndex, [B * N]);
  const dPatches = gatherRows(e, dTokens, index, D, [B * N, D], 'patch-rows');
  e.release(index, dTokens);
  const dCols = linearBackward(e, dPatches, vit.patchEmbed);
  e.release(dPatches);
  const dImages = patchCol2im(e, dCols, images.shape, c.patchSize);
  e.release(dCols);
  return finishGradient(e, dImages, logits, B, classes, cam, captured);
}
