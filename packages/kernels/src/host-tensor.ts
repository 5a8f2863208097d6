/** A row-major float32 tensor in host memory. Images are NCHW, tokens [B, T, D]. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Items first..last-1 of a batch [B, ...] (one item by default), sharing its memory. */
export function batchSlice(tensor: HostTensor, first: number, last = first + 1): HostTensor {
  const per = tensor.data.length / tensor.shape[0]!;
  return { shape: [last - first, ...tensor.shape.slice(1)], data: tensor.data.subarray(first * per, last * per) };
}
