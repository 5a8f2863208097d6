import type { GpuEngine } from '../gpu/engine.ts';
import { floatType, type GpuTensor } from '../gpu/gpu-tensor.ts';
import {
  broadcastPoolBackwardKernel,
  embedTokensKernel,
  gatherRowsKernel,
  meanTokensKernel,
  patchCol2imKernel,
  patchIm2colKernel,
  scatterRowsKernel,
  typedKernel,
} from '../shaders/index.ts';

/** Padding marker in gather indices: the output row is zeros. */
export const PAD_ROW = 0xffffffff;

/** out[r] = src[index[r]] over rows of D floats; index = PAD_ROW gives a zero row. */
export function gatherRows(engine: GpuEngine, src: GpuTensor, index: GpuTensor, D: number, outShape: readonly number[], label = 'gather-rows'): GpuTensor {
  const rows = index.size;
  const out = engine.empty(outShape, floatType(src));
  if (out.size !== rows * D) throw new Error(`gatherRows: [${outShape}] does not hold ${rows} rows of ${D}`);
  engine.dispatch({
    kernel: typedKernel(gatherRowsKernel, floatType(src)),
    label,
    params: { rows, D },
    buffers: { src, index, out },
    invocations: rows * D,
  });
  return out;
}

/** The Params of patch-im2col.wgsl and patch-col2im.wgsl; total is the invocation count. */
function patchParams(total: number, [, C = 1, H = 1, W = 1]: readonly number[], patchSize: number): Record<string, number> {
  const gridW = W / patchSize;
  return { total, C, H, W, P: patchSize, gridW, patches: (H / patchSize) * gridW };
}

/** NCHW f32 images -> [B * Np, C * P * P] patch rows of `dtype` (the patch embedding as a matmul). */
export function patchIm2col(engine: GpuEngine, images: GpuTensor, patchSize: number, label = 'patch-im2col', dtype: 'f32' | 'f16' = 'f32'): GpuTensor {
  const [B = 1, C = 1, H = 1, W = 1] = images.shape;
  const patches = (H / patchSize) * (W / patchSize);
  const out = engine.empty([B * patches, C * patchSize * patchSize], dtype);
  engine.dispatch({
    kernel: typedKernel(patchIm2colKernel, dtype),
    label,
    params: patchParams(out.size, images.shape, patchSize),
    buffers: { images, out },
    invocations: out.size,
  });
  return out;
}

/** [prefix tokens, patches] + positional embedding -> [B, nPrefix + Np, D]. */
export function embedTokens(
  engine: GpuEngine,
  patchEmbeddings: GpuTensor,
  batch: number,
  prefix: GpuTensor | undefined,
  nPrefix: number,
  pos: GpuTensor,
  posHasPrefix: boolean,
  label = 'embed-tokens',
): GpuTensor {
  const D = patchEmbeddings.shape[patchEmbeddings.shape.length - 1] ?? 1;
  const patches = patchEmbeddings.size / D / batch;
  const out = engine.empty([batch, nPrefix + patches, D], floatType(patchEmbeddings));
  engine.dispatch({
    kernel: typedKernel(embedTokensKernel, floatType(patchEmbeddings)),
    label,
    params: { total: out.size, patches, nPrefix, D, posHasPrefix: posHasPrefix ? 1 : 0 },
    buffers: { patches: patchEmbeddings, prefix, pos, out },
    invocations: out.size,
  });
  return out;
}

/** Mean of each sequence's tokens flagged in keep [R, T] (u32) -> [R, D]. */
export function meanTokens(engine: GpuEngine, x: GpuTensor, keep: GpuTensor, label = 'mean-tokens'): GpuTensor {
  const [R = 1, T = 1, D = 1] = x.shape;
  const out = engine.empty([R, D], floatType(x));
  engine.dispatch({
    kernel: typedKernel(meanTokensKernel, floatType(x)),
    label,
    params: { rows: R, T, D },
    buffers: { x, keep, out },
    invocations: R * D,
  });
  return out;
}

/**
 * Gradient of gatherRows: out[s] = sum of dy[r] over rows r with index[r] = s (padding
 * ignored). The inverse index is built here as CSR, so the kernel needs no atomics.
 */
export function scatterRows(engine: GpuEngine, dy: GpuTensor, index: Uint32Array, sources: number, D: number, label = 'scatter-rows'): GpuTensor {
  const counts = new Uint32Array(sources + 1);
  for (const s of index) if (s !== PAD_ROW) counts[s + 1]! += 1;
  for (let s = 0; s < sources; s++) counts[s + 1]! += counts[s]!;
  const rows = new Uint32Array(Math.max(1, counts[sources]!));
  const fill = counts.slice(0, sources);
  index.forEach((s, r) => {
    if (s !== PAD_ROW) rows[fill[s]!++] = r;
  });
  const offsets = engine.upload(counts, [sources + 1]);
  const rowList = engine.upload(rows, [rows.length]);
  const out = engine.empty([sources, D]);
  engine.dispatch({
    kernel: scatterRowsKernel,
    label,
    params: { sources, D },
    buffers: { dy, offsets, rows: rowList, out },
    invocations: sources * D,
  });
  engine.release(offsets, rowList);
  return out;
}

/** Gradient of patchIm2col: patch rows back to NCHW images [B, C, H, W]. */
export function patchCol2im(engine: GpuEngine, cols: GpuTensor, imageShape: readonly number[], patchSize: number, label = 'patch-col2im'): GpuTensor {
  const out = engine.empty(imageShape);
  engine.dispatch({
    kernel: patchCol2imKernel,
    label,
    params: patchParams(out.size, imageShape, patchSize),
    buffers: { cols, images: out },
    invocations: out.size,
  });
  return out;
}

/**
 * Gradient of an average over T positions of rows [R, T, D] -> [R, D]: dy / count at
 * every averaged position (those flagged in keep [R, T], or all T).
 */
export function averageBackward(engine: GpuEngine, dy: GpuTensor, T: number, keep?: GpuTensor, label = 'average-backward'): GpuTensor {
  const [R = 1, D = 1] = dy.shape;
  const dx = engine.empty([R, T, D]);
  engine.dispatch({
    kernel: broadcastPoolBackwardKernel,
    label,
    constants: { HAS_KEEP: keep !== undefined },
    params: { rows: R, T, D },
    buffers: { dy, keep, dx },
    invocations: dx.size,
  });
  return dx;
}
