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

/** Batches of one item shape [n_i, ...] stacked into one batch [sum n_i, ...] (copied). */
export function stackBatch(tensors: readonly HostTensor[]): HostTensor {
  const total = tensors.reduce((a, t) => a + t.data.length, 0);
  const data = new Float32Array(total);
  let offset = 0;
  for (const t of tensors) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return { shape: [tensors.reduce((a, t) => a + t.shape[0]!, 0), ...tensors[0]!.shape.slice(1)], data };
}
