import {
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  OnnxGraphBuilder,
  requireWeight,
  transpose2d,
  type OnnxExportOptions,
  type WeightMap,
} from './onnx-graph-builder.ts';

export interface VitConfig {
  imageSize: number;
  patchSize: number;
  inChannels: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpDim: number;
  numClasses: number;
  layerNormEps: number;
}

/** timm `vit_tiny_patch16_224`. */
export const VIT_TINY_PATCH16_224: VitConfig = {
  imageSize: 224,
  patchSize: 16,
  inChannels: 3,
  embedDim: 192,
  depth: 12,
  numHeads: 3,
  mlpDim: 768,
  numClasses: 1000,
  layerNormEps: 1e-6,
};

export function vitTokenCount(cfg: VitConfig): number {
  return (cfg.imageSize / cfg.patchSize) ** 2 + 1;
}

/**
 * Builds the opset-17 graph that `torch.onnx.export` writes for a timm ViT in eval mode:
 * Conv patch embedding, CLS concat, learned position embedding, pre-norm blocks with
 * LayerNormalization, Linear as MatMul(W^T)+Add, attention as MatMul/Mul/Softmax/MatMul,
 * GELU as its exact Erf composition, final norm, CLS token through a Gemm head.
 * Input `input` [B, 3, H, W] NCHW float32, output `logits` [B, numClasses].
 */
export function buildVitOnnx(weights: WeightMap, cfg: VitConfig = VIT_TINY_PATCH16_224, options: OnnxExportOptions = {}): Uint8Array {
  const { embedDim: D, numHeads: H, mlpDim, patchSize: P, inChannels: C, numClasses } = cfg;
  if (D % H !== 0) throw new Error(`embedDim ${D} is not divisible by numHeads ${H}`);
  if (cfg.imageSize % P !== 0) throw new Error(`imageSize ${cfg.imageSize} is not a multiple of patchSize ${P}`);
  const headDim = D / H;
  const tokens = vitTokenCount(cfg);
  const batch = options.batch ?? 'batch';
  const g = new OnnxGraphBuilder('vit');

  const weight = (name: string, shape: number[]) => {
    const w = requireWeight(weights, name, shape);
    return g.floatInitializer(name, shape, w.data);
  };
  // Linear on a [B, T, in] tensor exports as MatMul with the transposed weight, then Add.
  const linear = (x: string, prefix: string, inDim: number, outDim: number, out: string) => {
    const w = requireWeight(weights, `${prefix}.weight`, [outDim, inDim]);
    const wT = g.floatInitializer(`${prefix}.weight_T`, [inDim, outDim], transpose2d(w.data, outDim, inDim));
    const mm = g.node('MatMul', [x, wT], `${out}_matmul`);
    return g.node('Add', [mm, weight(`${prefix}.bias`, [outDim])], out);
  };
  const layerNorm = (x: string, prefix: string, out: string) =>
    g.node('LayerNormalization', [x, weight(`${prefix}.weight`, [D]), weight(`${prefix}.bias`, [D])], out, {
      axis: -1,
      epsilon: { float: cfg.layerNormEps },
    });
  const geluErf = (x: string, out: string) => {
    const scaled = g.node('Div', [x, g.floatScalar(Math.SQRT2)], `${out}_div`);
    const erf = g.node('Erf', [scaled], `${out}_erf`);
    const onePlus = g.node('Add', [erf, g.floatScalar(1)], `${out}_add`);
    const gated = g.node('Mul', [x, onePlus], `${out}_mul`);
    return g.node('Mul', [gated, g.floatScalar(0.5)], out);
  };

  const input = g.input(ONNX_INPUT_NAME, [batch, C, cfg.imageSize, cfg.imageSize]);

  const patches = g.node(
    'Conv',
    [input, weight('patch_embed.proj.weight', [D, C, P, P]), weight('patch_embed.proj.bias', [D])],
    'patch_embed',
    { kernel_shape: [P, P], strides: [P, P] },
  );
  const flat = g.node('Reshape', [patches, g.int64Constant([0, D, -1])], 'patch_flat');
  const patchTokens = g.node('Transpose', [flat], 'patch_tokens', { perm: [0, 2, 1] });

  const batchDim = g.node('Shape', [input], 'batch_dim', { start: 0, end: 1 });
  const clsShape = g.node('Concat', [batchDim, g.int64Constant([1, D])], 'cls_shape', { axis: 0 });
  const cls = g.node('Expand', [weight('cls_token', [1, 1, D]), clsShape], 'cls_expanded');
  const withCls = g.node('Concat', [cls, patchTokens], 'tokens', { axis: 1 });
  let x = g.node('Add', [withCls, weight('pos_embed', [1, tokens, D])], 'embedded');

  for (let i = 0; i < cfg.depth; i++) {
    const p = `blocks.${i}`;
    const h1 = layerNorm(x, `${p}.norm1`, `${p}_norm1`);
    const qkv = linear(h1, `${p}.attn.qkv`, D, 3 * D, `${p}_qkv`);
    const qkvHeads = g.node('Reshape', [qkv, g.int64Constant([0, 0, 3, H, headDim])], `${p}_qkv_heads`);
    // [B, T, 3, H, hd] -> [3, B, H, T, hd], then unbind the leading axis into q, k, v.
    const qkvPerm = g.node('Transpose', [qkvHeads], `${p}_qkv_perm`, { perm: [2, 0, 3, 1, 4] });
    const parts = g.nodeMulti('Split', [qkvPerm, g.int64Constant([1, 1, 1])], [`${p}_q5`, `${p}_k5`, `${p}_v5`], {
      axis: 0,
    });
    const [q, k, v] = parts.map((part, j) => g.node('Squeeze', [part, g.int64Constant([0])], `${p}_${'qkv'[j]}`)) as [
      string,
      string,
      string,
    ];
    const kT = g.node('Transpose', [k], `${p}_kT`, { perm: [0, 1, 3, 2] });
    const scores = g.node('MatMul', [q, kT], `${p}_scores`);
    const scaled = g.node('Mul', [scores, g.floatScalar(1 / Math.sqrt(headDim))], `${p}_scores_scaled`);
    const probs = g.node('Softmax', [scaled], `${p}_probs`, { axis: -1 });
    const context = g.node('MatMul', [probs, v], `${p}_context`);
    const contextTokens = g.node('Transpose', [context], `${p}_context_tokens`, { perm: [0, 2, 1, 3] });
    const merged = g.node('Reshape', [contextTokens, g.int64Constant([0, 0, D])], `${p}_context_merged`);
    const attnOut = linear(merged, `${p}.attn.proj`, D, D, `${p}_attn_out`);
    x = g.node('Add', [x, attnOut], `${p}_residual1`);

    const h2 = layerNorm(x, `${p}.norm2`, `${p}_norm2`);
    const fc1 = linear(h2, `${p}.mlp.fc1`, D, mlpDim, `${p}_fc1`);
    const act = geluErf(fc1, `${p}_gelu`);
    const fc2 = linear(act, `${p}.mlp.fc2`, mlpDim, D, `${p}_fc2`);
    x = g.node('Add', [x, fc2], `${p}_residual2`);
  }

  const normed = layerNorm(x, 'norm', 'final_norm');
  const clsToken = g.node('Gather', [normed, g.int64Constant([0], [])], 'cls_token_out', { axis: 1 });
  g.node(
    'Gemm',
    [clsToken, weight('head.weight', [numClasses, D]), weight('head.bias', [numClasses])],
    'head',
    { transB: 1 },
  );
  g.nameLastOutput(ONNX_OUTPUT_NAME);
  g.output(ONNX_OUTPUT_NAME, [batch, numClasses]);
  return g.encode();
}
