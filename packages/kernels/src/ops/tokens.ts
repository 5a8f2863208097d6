import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import { ParamWriter } from '../gpu/uniform-arena.ts';
import { embedTokensKernel, gatherRowsKernel, meanTokensKernel, patchIm2colKernel } from '../shaders/index.ts';
import { grid2d } from './grid.ts';

/** Padding marker in gather indices: the output row is zeros. */
export const PAD_ROW = 0xffffffff;

/** out[r] = src[index[r]] over rows of D floats; index = PAD_ROW gives a zero row. */
export function gatherRows(engine: GpuEngine, src: GpuTensor, index: GpuTensor, D: number, outShape: readonly number[], label = 'gather-rows'): GpuTensor {
  const rows = index.size;
  const out = engine.empty(outShape);
  if (out.size !== rows * D) throw new Error(`gatherRows: [${outShape}] does not hold ${rows} rows of ${D}`);
  engine.dispatch({
    kernel: gatherRowsKernel,
    label,
    params: new ParamWriter().u32(rows).u32(D).bytes(),
    buffers: [src, index, out],
    workgroups: grid2d(engine, rows * D, 256),
  });
  return out;
}

/** NCHW images -> [B * Np, C * P * P] patch rows (the patch embedding as a matmul). */
export function patchIm2col(engine: GpuEngine, images: GpuTensor, patchSize: number, label = 'patch-im2col'): GpuTensor {
  const [B = 1, C = 1, H = 1, W = 1] = images.shape;
  const gridW = W / patchSize;
  const patches = (H / patchSize) * gridW;
  const out = engine.empty([B * patches, C * patchSize * patchSize]);
  engine.dispatch({
    kernel: patchIm2colKernel,
    label,
    params: new ParamWriter().u32(out.size).u32(C).u32(H).u32(W).u32(patchSize).u32(gridW).u32(patches).bytes(),
    buffers: [images, out],
    workgroups: grid2d(engine, out.size, 256),
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
  const out = engine.empty([batch, nPrefix + patches, D]);
  engine.dispatch({
    kernel: embedTokensKernel,
    label,
    params: new ParamWriter().u32(out.size).u32(patches).u32(nPrefix).u32(D).u32(posHasPrefix ? 1 : 0).bytes(),
    buffers: [patchEmbeddings, prefix ?? engine.dummy.read, pos, out],
    workgroups: grid2d(engine, out.size, 256),
  });
  return out;
}

/** Mean of each sequence's tokens flagged in keep [R, T] (u32) -> [R, D]. */
export function meanTokens(engine: GpuEngine, x: GpuTensor, keep: GpuTensor, label = 'mean-tokens'): GpuTensor {
  const [R = 1, T = 1, D = 1] = x.shape;
  const out = engine.empty([R, D]);
  engine.dispatch({
    kernel: meanTokensKernel,
    label,
    params: new ParamWriter().u32(R).u32(T).u32(D).bytes(),
    buffers: [x, keep, out],
    workgroups: grid2d(engine, R * D, 64),
  });
  return out;
}
