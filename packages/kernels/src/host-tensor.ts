/** A row-major float32 tensor in host memory. Images are NCHW, tokens [B, T, D]. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
