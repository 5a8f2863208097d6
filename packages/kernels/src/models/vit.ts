import type { GpuEngine } from '../gpu/engine.ts';
import { GpuTensor } from '../gpu/gpu-tensor.ts';
import type { HostTensor } from '../host-tensor.ts';
import { InputError, OptionError } from '../io/input-error.ts';
import { attention } from '../ops/attention.ts';
import { layerNorm, type LayerNormWeights } from '../ops/layernorm.ts';
import { linear, type LinearWeights } from '../ops/matmul.ts';
import { scaleAdd } from '../ops/scale-add.ts';
import { embedTokens, gatherRows, meanTokens, PAD_ROW, patchIm2col } from '../ops/tokens.ts';
import { checkInputShape, type ImageClassifier, type Precision } from './classifier.ts';
import { refuseOversizedUpload, type ActivationFootprint } from './device-limits.ts';
import { forwardInImageGroups, scatterHostRows } from './image-groups.ts';
import type { GradientOptions, GradientResult, OutputGradient } from './gradient.ts';
import { vitGradient } from './vit-gradient.ts';
import { checkPixelGrid, maskedRows } from './pixel-rows.ts';
import { PreparedInput } from './prepared-input.ts';
import { defaultMaskModeOf, normalizeKeep, resolveRowImages, type ForwardRequest, type ForwardResult } from './patch-mask.ts';
import { gridShape, patchCount, prefixTokenCount, type VitConfig } from './vit-config.ts';
import type { VitGpuBlock, VitParts } from './vit-parts.ts';
import { vitParameterCount, type HostLinear, type HostNorm, type VitWeights } from './vit-weights.ts';

export type { VitGpuBlock } from './vit-parts.ts';

/** One chunk of output rows, already resolved against the mask. */
interface RowPlan {
  /** Gather index into the token table, [rows * T], PAD_ROW for padding. */
  index: Uint32Array;
  T: number;
  rows: number;
  /** [rows * T] key visibility, or undefined when every key is visible. */
  keyKeep?: Uint32Array;
  /** [rows * T], 1 for the patch tokens average pooling reads. */
  poolKeep: Uint32Array;
}

interface RecordedChunk {
  /** Output rows this chunk computed, in its own row order. */
  rowIds: number[];
  T: number;
  logits: GpuTensor;
  attention?: GpuTensor[];
}

/**
 * Floats of the largest tensor a forward pass holds per image (patch columns, tokens) and per
 * output row (MLP hidden, qkv, attention scores of all heads): chunks are sized by them.
 */
export function vitFootprint(c: VitConfig): { perImage: number; perRow: number } {
  const T0 = prefixTokenCount(c) + patchCount(c);
  return {
    perImage: Math.max(patchCount(c) * Math.max(c.inChans * c.patchSize ** 2, c.embedDim), T0 * c.embedDim),
    perRow: T0 * Math.max(blockWidth(c), c.numHeads * T0),
  };
}

/** The larger of vitFootprint's two, in words: what a device must bind for one sequence. */
export function vitActivation(c: VitConfig): ActivationFootprint {
  const { perImage, perRow } = vitFootprint(c);
  const T0 = prefixTokenCount(c) + patchCount(c);
  if (perImage > perRow) return { floats: perImage, what: `one ${c.imgSize.join('x')} image's ${patchCount(c).toLocaleString('en')} patches` };
  const block = blockWidth(c);
  const widest = c.numHeads * T0 >= block ? `attention scores of ${c.numHeads} heads x ${T0.toLocaleString('en')} x ${T0.toLocaleString('en')}` : `${block} features per token`;
  return { floats: perRow, what: `one sequence of ${T0.toLocaleString('en')} tokens (${widest})` };
}

/** Features per token of a block's widest product (the MLP's hidden layer, or qkv). */
function blockWidth(c: VitConfig): number {
  return Math.max(c.mlpHidden, 3 * c.embedDim);
}

/** The widest matrix product: the classifier head, or a block's MLP / qkv. */
export function vitWidestProduct(c: VitConfig): { columns: number; what: string } {
  return c.numClasses >= blockWidth(c) ? { columns: c.numClasses, what: 'the classifier head' } : { columns: blockWidth(c), what: 'a block' };
}

/**
 * Vision Transformer forward pass (timm ViT / DeiT / DeiT III, Hugging Face ViT / DeiT)
 * on the kernels of this package, with the paper's patch masking built in: patch
 * embeddings are computed once per image and every output row gathers the tokens its
 * keep-list names, so a batch of coalitions of one image costs one embedding.
 */
export class VisionTransformer implements ImageClassifier, VitParts {
  readonly kind = 'vit';
  readonly defaultMaskMode = defaultMaskModeOf('vit');
  readonly patchEmbed: LinearWeights;
  readonly prefix: GpuTensor | undefined;
  readonly pos: GpuTensor;
  readonly preNorm: LayerNormWeights | undefined;
  readonly blocks: VitGpuBlock[];
  readonly norm: LayerNormWeights | undefined;
  readonly fcNorm: LayerNormWeights | undefined;
  readonly heads: LinearWeights[];
  readonly parameterCount: number;

  constructor(
    readonly engine: GpuEngine,
    readonly config: VitConfig,
    weights: VitWeights,
    /** Storage of weights and activations; f16 halves memory and bandwidth, sums stay f32. */
    readonly precision: Precision = 'f32',
  ) {
    const eps = config.eps;
    const up = (data: Float32Array, label: string) => engine.persistent(data, [data.length], label, precision);
    const lin = (l: HostLinear, label: string): LinearWeights => {
      const gpu: LinearWeights = { weight: up(l.weight, `${label}.weight`), inFeatures: l.inFeatures, outFeatures: l.outFeatures };
      if (l.bias) gpu.bias = up(l.bias, `${label}.bias`);
      return gpu;
    };
    const ln = (n: HostNorm, label: string): LayerNormWeights => ({
      weight: up(n.weight, `${label}.weight`),
      bias: up(n.bias, `${label}.bias`),
      eps,
    });
    this.patchEmbed = lin(weights.patchEmbed, 'patch_embed');
    this.prefix = weights.prefix.length > 0 ? up(weights.prefix, 'prefix_tokens') : undefined;
    this.pos = up(weights.pos, 'pos_embed');
    this.preNorm = weights.preNorm && ln(weights.preNorm, 'norm_pre');
    this.blocks = weights.blocks.map((b, i) => ({
      norm1: ln(b.norm1, `blocks.${i}.norm1`),
      qkv: lin(b.qkv, `blocks.${i}.qkv`),
      proj: lin(b.proj, `blocks.${i}.proj`),
      norm2: ln(b.norm2, `blocks.${i}.norm2`),
      fc1: lin(b.fc1, `blocks.${i}.fc1`),
      fc2: lin(b.fc2, `blocks.${i}.fc2`),
    }));
    this.norm = weights.norm && ln(weights.norm, 'norm');
    this.fcNorm = weights.fcNorm && ln(weights.fcNorm, 'fc_norm');
    this.heads = weights.heads.map((h, i) => lin(h, `head${i}`));
    this.parameterCount = vitParameterCount(weights, config.layerScale);
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  /** The token grid: the players of token and attention masking. */
  get grid(): [number, number] {
    return gridShape(this.config);
  }

  get inputShape(): [number, number, number] {
    return [this.config.inChans, this.config.imgSize[0], this.config.imgSize[1]];
  }

  /**
   * Multiply-adds x 2 of one image, the usual way (all blocks). `keptPatches`: the patch
   * tokens a row keeps under token masking (default all): removed tokens cost nothing.
   */
  flopsPerImage(keptPatches?: number): number {
    const c = this.config;
    const D = c.embedDim;
    const N = patchCount(c);
    const T = Math.min(N, keptPatches ?? N) + prefixTokenCount(c);
    const block = 2 * T * D * 3 * D + 2 * 2 * T * T * D + 2 * T * D * D + 2 * 2 * T * D * c.mlpHidden;
    return 2 * N * c.inChans * c.patchSize ** 2 * D + c.depth * block + 2 * D * c.numClasses * this.heads.length;
  }

  gradient(images: HostTensor, outputGradient: OutputGradient, options: GradientOptions = {}): Promise<GradientResult> {
    if (this.precision !== 'f32') return Promise.reject(new OptionError('precision', 'gradients (Grad-CAM, PGD) run in f32; load the model with f32'));
    checkInputShape(this.inputShape, images.shape);
    return vitGradient(this, images, outputGradient, options);
  }

  prepare(images: HostTensor): PreparedInput {
    checkInputShape(this.inputShape, images.shape);
    refuseOversizedUpload(this, images.shape[0]!);
    return new PreparedInput(this.engine.upload(images.data, images.shape), this.engine);
  }

  /** Forward pass of NCHW images (normalised) under an optional patch mask. */
  async forward(images: HostTensor | GpuTensor | PreparedInput, request: ForwardRequest = {}): Promise<ForwardResult> {
    const grouped = forwardInImageGroups(this, images, request);
    if (grouped) return grouped;
    const prepared = images instanceof PreparedInput ? images : undefined;
    const input =
      images instanceof PreparedInput ? images.images : images instanceof GpuTensor ? images : this.engine.upload(images.data, images.shape);
    try {
      checkInputShape(this.inputShape, input.shape);
      const rowImage = resolveRowImages(input.shape[0]!, request);
      const chunks = request.mask?.mode === 'pixel' ? this.recordPixelMasked(input, rowImage, request) : this.record(input, rowImage, request, prepared);
      const classes = this.config.numClasses;
      const result: ForwardResult = { logits: new Float32Array(rowImage.length * classes), rows: rowImage.length, classes };
      for (const chunk of chunks) {
        scatterHostRows(await this.engine.read(chunk.logits), chunk.rowIds, classes, result.logits);
        this.engine.release(chunk.logits);
      }
      if (request.captureAttention) result.attention = await this.readAttention(chunks, rowImage.length);
      return result;
    } finally {
      if (!prepared && !(images instanceof GpuTensor)) this.engine.release(input);
    }
  }

  /**
   * Records the whole forward pass, chunked so that no tensor exceeds the device's
   * storage-binding limit, and returns the logits tensors of each chunk (not yet read).
   */
  private record(input: GpuTensor, rowImage: number[], request: ForwardRequest, prepared?: PreparedInput) {
    const c = this.config;
    const images = input.shape[0]!;
    const T0 = prefixTokenCount(c) + patchCount(c);
    const limit = this.engine.gpu.limits.maxStorageBufferBindingSize / 4;
    // checkModelFitsDevice refused, at load, a model where one image or row exceeds the limit.
    const { perImage, perRow } = vitFootprint(c);
    const imagesPerChunk = Math.max(1, Math.floor(limit / perImage));
    // Attention runs one product (or workgroup row) per row and head, in one grid dimension.
    const rowsPerChunk = Math.max(1, Math.min(Math.floor(limit / perRow), Math.floor(this.engine.gpu.limits.maxComputeWorkgroupsPerDimension / c.numHeads)));

    const pending: RecordedChunk[] = [];
    for (let first = 0; first < images; first += imagesPerChunk) {
      const last = Math.min(images, first + imagesPerChunk);
      const rows = rowImage.flatMap((img, r) => (img >= first && img < last ? [r] : []));
      if (rows.length === 0) continue;
      const whole = input.shape[0] === last - first;
      // A prepared input keeps its patch embeddings: computed on the first pass, reused after.
      const cached = whole && prepared !== undefined;
      const tokens = cached
        ? prepared.cached('vit-tokens', () => this.embed(input))
        : this.engine.scope(() => this.embed(whole ? input : this.sliceImages(input, first, last)));
      for (let start = 0; start < rows.length; start += rowsPerChunk) {
        const rowIds = rows.slice(start, start + rowsPerChunk);
        const plan = this.planRows(rowIds.map((r) => rowImage[r]! - first), rowIds, request, T0);
        pending.push({ rowIds, T: plan.T, ...this.encode(tokens, plan, request) });
      }
      if (!cached) this.engine.release(tokens);
    }
    return pending;
  }

  /** Pixel masking: masked copies of the images, in chunks, through the unmasked model. */
  private recordPixelMasked(input: GpuTensor, rowImage: number[], request: ForwardRequest): RecordedChunk[] {
    const mask = request.mask;
    if (mask?.mode !== 'pixel') throw new Error('internal: recordPixelMasked without a pixel mask');
    checkPixelGrid(mask.grid, this.config.imgSize);
    const [C, H, W] = this.inputShape;
    const rowsPerChunk = Math.max(1, Math.floor(this.engine.gpu.limits.maxStorageBufferBindingSize / 4 / (C * H * W)));
    const chunks: RecordedChunk[] = [];
    const unmasked: ForwardRequest = request.captureAttention ? { captureAttention: true } : {};
    for (let first = 0; first < rowImage.length; first += rowsPerChunk) {
      const last = Math.min(rowImage.length, first + rowsPerChunk);
      const identity = Array.from({ length: last - first }, (_, i) => i);
      const recorded = this.engine.scope(() => this.record(maskedRows(this.engine, input, rowImage, mask.keep, mask.grid, 'nchw', first, last), identity, unmasked));
      for (const chunk of recorded) chunks.push({ ...chunk, rowIds: chunk.rowIds.map((r) => r + first) });
    }
    return chunks;
  }

  private sliceImages(input: GpuTensor, first: number, last: number): GpuTensor {
    const per = input.size / input.shape[0]!;
    const out = this.engine.empty([last - first, ...input.shape.slice(1)]);
    this.engine.copy(input, first * per, out, 0, (last - first) * per);
    return out;
  }

  /** Patch + positional embeddings of every patch of every image: [B, nPrefix + Np, D]. */
  embed(images: GpuTensor): GpuTensor {
    const c = this.config;
    const e = this.engine;
    const B = images.shape[0]!;
    // Each scope frees what it made but returns: the patch columns, then the patch embeddings.
    const tokens = e.scope(() => {
      const patches = e.scope(() => linear(e, patchIm2col(e, images, c.patchSize, 'patch-im2col', this.precision), this.patchEmbed, { label: 'patch-embed' }));
      return embedTokens(e, patches, B, this.prefix, prefixTokenCount(c), this.pos, !c.noEmbedClass);
    });
    const preNorm = this.preNorm;
    return preNorm ? e.scope((s) => layerNorm(e, s.adopt(tokens), preNorm, undefined, 'norm-pre')) : tokens;
  }

  private planRows(images: number[], rowIds: number[], request: ForwardRequest, T0: number): RowPlan {
    const c = this.config;
    const nPrefix = prefixTokenCount(c);
    const N = patchCount(c);
    const mask = request.mask;
    const rows = images.length;
    if (mask?.mode === 'pixel') throw new Error('internal: pixel masks are applied before planRows');
    const keeps = mask ? rowIds.map((r) => normalizeKeep(mask.keep[r]!, N)) : undefined;

    if (!keeps || mask?.mode === 'attention') {
      const index = new Uint32Array(rows * T0);
      const poolKeep = new Uint32Array(rows * T0);
      images.forEach((img, r) => {
        for (let t = 0; t < T0; t++) index[r * T0 + t] = img * T0 + t;
        if (keeps) for (const p of keeps[r]!) poolKeep[r * T0 + nPrefix + p] = 1;
        else poolKeep.fill(1, r * T0 + nPrefix, (r + 1) * T0);
      });
      const plan: RowPlan = { index, T: T0, rows, poolKeep };
      if (keeps) {
        const keyKeep = new Uint32Array(rows * T0);
        keeps.forEach((keep, r) => {
          keyKeep.fill(1, r * T0, r * T0 + nPrefix);
          for (const p of keep) keyKeep[r * T0 + nPrefix + p] = 1;
        });
        plan.keyKeep = keyKeep;
      }
      return plan;
    }

    // Token removal: gather prefix + kept patch tokens; pad ragged rows and mask the padding.
    const T = nPrefix + Math.max(...keeps.map((k) => k.length));
    const index = new Uint32Array(rows * T).fill(PAD_ROW);
    const keyKeep = new Uint32Array(rows * T);
    const poolKeep = new Uint32Array(rows * T);
    let ragged = false;
    keeps.forEach((keep, r) => {
      const img = images[r]!;
      for (let t = 0; t < nPrefix; t++) index[r * T + t] = img * T0 + t;
      keep.forEach((p, j) => (index[r * T + nPrefix + j] = img * T0 + nPrefix + p));
      const length = nPrefix + keep.length;
      keyKeep.fill(1, r * T, r * T + length);
      poolKeep.fill(1, r * T + nPrefix, r * T + length);
      if (length !== T) ragged = true;
    });
    return ragged ? { index, T, rows, poolKeep, keyKeep } : { index, T, rows, poolKeep };
  }

  /**
   * Transformer blocks, pooling and head(s) for one chunk of rows. Intermediates live in
   * scopes (GpuEngine.scope) that end right after their last reader, as hand releases did,
   * so a chunk holds what one block needs, not what every block made.
   */
  private encode(tokens: GpuTensor, plan: RowPlan, request: ForwardRequest): { logits: GpuTensor; attention?: GpuTensor[] } {
    const c = this.config;
    const e = this.engine;
    const { rows, T } = plan;
    const maskFrom = request.mask?.mode === 'attention' ? request.mask.fromLayer : 0;
    const capture = request.captureAttention === true;
    // With class-token pooling the last block only matters at the prefix rows read by the
    // head(s): every token still serves as key and value, but queries, projection and MLP
    // run for those rows alone.
    const headRows = c.distillationHead ? 2 : 1;
    const trimLastBlock = c.globalPool === 'token' && !capture;

    const gathered = e.scope(() => gatherRows(e, tokens, e.upload(plan.index, [rows * T]), c.embedDim, [rows, T, c.embedDim], 'gather-tokens'));
    // The key mask lives as long as the blocks.
    const encoded = e.scope(() => {
      const keyKeep = plan.keyKeep && e.upload(plan.keyKeep, [rows, T]);
      const attentionMaps: GpuTensor[] = [];
      let x = gathered;
      this.blocks.forEach((block, i) => {
        const queries = i === this.blocks.length - 1 && trimLastBlock ? headRows : T;
        const out = this.block(x, block, { rows, T, queries, keyKeep: i >= maskFrom ? keyKeep : undefined, capture });
        if (out.probabilities) attentionMaps.push(out.probabilities);
        x = out.x;
      });
      return { x, attentionMaps };
    });
    // [rows, rowsPerSeq, D]: the last block may have kept only the head rows.
    const rowsPerSeq = encoded.x.shape[1]!;
    const features = e.scope((s) => this.pool(s.adopt(encoded.x), rows, rowsPerSeq, plan.poolKeep));
    const logits = e.scope(() => {
      const perHead = features.map((f, i) => e.scope((s) => linear(e, s.adopt(f), this.heads[i]!, { label: 'head' })));
      // A distilled DeiT averages its two heads.
      return perHead.reduce((mean, head) => scaleAdd(e, mean, head, 0.5, 0.5, 'head-mean'));
    });
    return capture ? { logits, attention: encoded.attentionMaps } : { logits };
  }

  /**
   * One transformer block over rows of T tokens, for the first `queries` query rows of each
   * sequence; frees its input x once the residual connection has read it.
   */
  private block(
    x: GpuTensor,
    block: VitGpuBlock,
    o: { rows: number; T: number; queries: number; keyKeep: GpuTensor | undefined; capture: boolean },
  ): { x: GpuTensor; probabilities?: GpuTensor } {
    const e = this.engine;
    const attended = e.scope(() => {
      const qkv = e.scope(() => linear(e, layerNorm(e, x, block.norm1, undefined, 'norm1'), block.qkv, { label: 'qkv' }));
      return attention(e, qkv, {
        heads: this.config.numHeads,
        ...(o.keyKeep ? { keyKeep: o.keyKeep } : {}),
        queries: o.queries,
        withProbabilities: o.capture,
      });
    });
    const x1 = e.scope((s) => {
      const residual = s.adopt(o.queries === o.T ? x : this.firstRows(x, o.rows, o.T, o.queries));
      return linear(e, s.adopt(attended.out), block.proj, { residual, label: 'proj' });
    });
    const hidden = e.scope(() => linear(e, layerNorm(e, x1, block.norm2, undefined, 'norm2'), block.fc1, { activation: 'gelu', label: 'fc1' }));
    const out = e.scope((s) => linear(e, s.adopt(hidden), block.fc2, { residual: s.adopt(x1), label: 'fc2' }));
    return attended.probabilities ? { x: out, probabilities: attended.probabilities } : { x: out };
  }

  /** The first `queries` token rows of each sequence of x [rows, T, D]; frees x. */
  private firstRows(x: GpuTensor, rows: number, T: number, queries: number): GpuTensor {
    const e = this.engine;
    const D = this.config.embedDim;
    const index = new Uint32Array(rows * queries);
    for (let r = 0; r < rows; r++) for (let q = 0; q < queries; q++) index[r * queries + q] = r * T + q;
    return e.scope((s) => gatherRows(e, s.adopt(x), e.upload(index, [rows * queries]), D, [rows, queries, D], 'gather-head-rows'));
  }

  /** Final norm and pooling: the feature vector(s) the head(s) read, each [rows, D]. */
  private pool(x: GpuTensor, rows: number, T: number, poolKeep: Uint32Array): GpuTensor[] {
    const c = this.config;
    const e = this.engine;
    const D = c.embedDim;
    const norm = this.norm;
    const features =
      c.globalPool === 'token'
        ? this.heads.map((_, i) => (norm ? layerNorm(e, x, norm, { rows, rowStride: T * D, rowOffset: i * D }, 'norm') : this.selectRow(x, rows, T, i)))
        : [e.scope(() => meanTokens(e, norm ? layerNorm(e, x, norm, undefined, 'norm') : x, e.upload(poolKeep, [rows, T])))];
    const fcNorm = this.fcNorm;
    return fcNorm ? features.map((f) => e.scope((s) => layerNorm(e, s.adopt(f), fcNorm, undefined, 'fc-norm'))) : features;
  }

  private selectRow(x: GpuTensor, rows: number, T: number, row: number): GpuTensor {
    const e = this.engine;
    const D = this.config.embedDim;
    const index = new Uint32Array(rows).map((_, r) => r * T + row);
    return e.scope(() => gatherRows(e, x, e.upload(index, [rows]), D, [rows, D], 'select-token'));
  }

  /** Per block, [rows, H, T, T] in output-row order. */
  private async readAttention(chunks: RecordedChunk[], rows: number): Promise<Float32Array[]> {
    const T = chunks[0]?.T ?? 0;
    if (chunks.some((c) => c.T !== T)) {
      throw new InputError('captureAttention', 'rows of different lengths do not fit one attention tensor; capture with one keep-list length');
    }
    const perRow = this.config.numHeads * T * T;
    const out: Float32Array[] = [];
    for (let b = 0; b < this.blocks.length; b++) {
      const all = new Float32Array(rows * perRow);
      for (const chunk of chunks) {
        const t = chunk.attention![b]!;
        scatterHostRows(await this.engine.read(t), chunk.rowIds, perRow, all);
        this.engine.release(t);
      }
      out.push(all);
    }
    return out;
  }

  destroy(): void {
    const all: Array<GpuTensor | undefined> = [this.patchEmbed.weight, this.patchEmbed.bias, this.prefix, this.pos];
    for (const n of [this.preNorm, this.norm, this.fcNorm, ...this.blocks.flatMap((b) => [b.norm1, b.norm2])]) {
      if (n) all.push(n.weight, n.bias);
    }
    for (const l of [...this.blocks.flatMap((b) => [b.qkv, b.proj, b.fc1, b.fc2]), ...this.heads]) all.push(l.weight, l.bias);
    this.engine.release(...all);
  }
}
