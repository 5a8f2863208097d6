import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import { pixelMaskKernel } from '../shaders/index.ts';

export interface PixelMaskRows {
  /** [R] u32: which image of the batch each row shows. */
  rowImage: GpuTensor;
  /** [R, gridH * gridW] u32: 1 where the grid cell is shown. */
  keep: GpuTensor;
  grid: [number, number];
}

/**
 * R masked copies of NCHW images: removed grid cells become 0 (the normalised mean
 * colour). Output NHWC [R, H, W, C] for convolutions or NCHW [R, C, H, W] for a ViT.
 */
export function maskPixels(engine: GpuEngine, images: GpuTensor, rows: PixelMaskRows, layout: 'nhwc' | 'nchw', label = 'pixel-mask'): GpuTensor {
  const [, C = 1, H = 1, W = 1] = images.shape;
  const R = rows.rowImage.size;
  const [gh, gw] = rows.grid;
  if (H % gh !== 0 || W % gw !== 0) throw new Error(`maskPixels: grid ${gh}x${gw} does not divide ${H}x${W}`);
  const out = engine.empty(layout === 'nhwc' ? [R, H, W, C] : [R, C, H, W]);
  engine.dispatch({
    kernel: pixelMaskKernel,
    label,
    constants: { OUTPUT_NHWC: layout === 'nhwc' },
    params: { total: out.size, C, H, W, gridH: gh, gridW: gw },
    buffers: { images, rowImage: rows.rowImage, keep: rows.keep, out },
    invocations: out.size,
  });
  return out;
}
