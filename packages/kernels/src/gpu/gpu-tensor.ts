import { elementCount } from '../host-tensor.ts';

/** f16: activations and weights of a model run in half precision (2 bytes per element). */
export type GpuDtype = 'f32' | 'u32' | 'f16';

/**
 * A tensor in a GPU storage buffer, row-major, 4 bytes per element (f32 values, or u32
 * indices and flags) or 2 (f16 values). The buffer may be larger than the tensor (pooled size classes);
 * kernels take element counts from the shape, never from the buffer.
 */
/** Bytes one element of a tensor of this type takes on the device. */
export function bytesPerElement(dtype: GpuDtype): 2 | 4 {
  return dtype === 'f16' ? 2 : 4;
}

/** The float type a kernel stores this tensor's values in (u32 tensors are indices, never values). */
export function floatType(t: GpuTensor): 'f32' | 'f16' {
  return t.dtype === 'f16' ? 'f16' : 'f32';
}

export class GpuTensor {
  readonly size: number;
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    /** Pooled tensors go back to the pool on release; weights own their buffer. */
    readonly pooled: boolean,
    readonly dtype: GpuDtype = 'f32',
  ) {
    this.size = elementCount(shape);
  }

  /** The same buffer under another shape of equal size; release only one of the two. */
  view(shape: readonly number[]): GpuTensor {
    const t = new GpuTensor(this.buffer, shape, this.pooled, this.dtype);
    if (t.size !== this.size) throw new Error(`view: [${shape}] does not hold ${this.size} elements`);
    return t;
  }

  get byteSize(): number {
    return this.size * bytesPerElement(this.dtype);
  }
}
