/**
 * Bilinear resize of a row-major grid with half-pixel centres (cv2.resize's INTER_LINEAR,
 * torch's align_corners=False), edges clamped: Grad-CAM's map onto another grid, and the
 * smooth heatmaps' rasters.
 */
export function resizeBilinear(map: readonly number[], [sh, sw]: readonly [number, number], [dh, dw]: readonly [number, number]): number[] {
  const out: number[] = [];
  const coord = (d: number, src: number, dst: number) => Math.min(src - 1, Math.max(0, (d + 0.5) * (src / dst) - 0.5));
  for (let y = 0; y < dh; y++) {
    const fy = coord(y, sh, dh);
    const y0 = Math.floor(fy);
    const y1 = Math.min(sh - 1, y0 + 1);
    for (let x = 0; x < dw; x++) {
      const fx = coord(x, sw, dw);
      const x0 = Math.floor(fx);
      const x1 = Math.min(sw - 1, x0 + 1);
      const top = map[y0 * sw + x0]! * (1 - (fx - x0)) + map[y0 * sw + x1]! * (fx - x0);
      const bottom = map[y1 * sw + x0]! * (1 - (fx - x0)) + map[y1 * sw + x1]! * (fx - x0);
      out.push(top * (1 - (fy - y0)) + bottom * (fy - y0));
    }
  }
  return out;
}
