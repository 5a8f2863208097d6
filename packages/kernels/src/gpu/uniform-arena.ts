import type { KernelSpec } from './kernel-spec.ts';

/**
 * Per-dispatch parameters (shapes, strides, epsilons) packed into shared uniform buffers.
 * Every dispatch gets its own aligned slice; the slices are uploaded with one
 * writeBuffer per chunk just before the commands that read them are submitted.
 */
const CHUNK_BYTES = 64 * 1024; // the smallest maxUniformBufferBindingSize WebGPU allows

export interface UniformSlice {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

interface Chunk {
  buffer: GPUBuffer;
  staging: Uint8Array;
  used: number;
}

export class UniformArena {
  private readonly chunks: Chunk[] = [];
  private current = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly alignment: number,
  ) {}

  push(data: Uint8Array): UniformSlice {
    const size = Math.ceil(data.byteLength / 16) * 16;
    let chunk = this.chunks[this.current];
    if (chunk && chunk.used + size > CHUNK_BYTES) {
      this.current += 1;
      chunk = this.chunks[this.current];
    }
    if (!chunk) {
      chunk = {
        buffer: this.device.createBuffer({
          size: CHUNK_BYTES,
          usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */,
          label: 'uniform-arena',
        }),
        staging: new Uint8Array(CHUNK_BYTES),
        used: 0,
      };
      this.chunks[this.current] = chunk;
    }
    const offset = chunk.used;
    chunk.staging.set(data, offset);
    chunk.used = Math.ceil((offset + size) / this.alignment) * this.alignment;
    return { buffer: chunk.buffer, offset, size };
  }

  /** Uploads what was pushed since the last flush and starts over. */
  upload(queue: GPUQueue): void {
    for (let i = 0; i <= this.current; i++) {
      const chunk = this.chunks[i];
      if (chunk && chunk.used > 0) queue.writeBuffer(chunk.buffer, 0, chunk.staging, 0, chunk.used);
      if (chunk) chunk.used = 0;
    }
    this.current = 0;
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks.length = 0;
  }
}

/**
 * A kernel's uniform struct filled by field name: 4 bytes a field in declaration order
 * (defineKernel allows u32, i32 and f32 fields only), padded to 16 bytes. Every field must
 * be given and no other, so a renamed or added WGSL field cannot be filled by position.
 */
export function packParams(spec: Pick<KernelSpec, 'name' | 'params'>, values: Readonly<Record<string, number>>): Uint8Array {
  const view = new DataView(new ArrayBuffer(Math.max(16, Math.ceil((spec.params.length * 4) / 16) * 16)));
  spec.params.forEach((field, i) => {
    const value = values[field.name];
    if (value === undefined) throw new Error(`${spec.name}: struct Params field ${field.name} not given`);
    if (field.type === 'f32') view.setFloat32(i * 4, value, true);
    else if (field.type === 'i32') view.setInt32(i * 4, value | 0, true);
    else view.setUint32(i * 4, value >>> 0, true);
  });
  // Every field was given, so only a count past the fields' means names it does not have.
  if (Object.keys(values).length > spec.params.length) {
    const extra = Object.keys(values).filter((k) => !spec.params.some((f) => f.name === k));
    throw new Error(`${spec.name}: struct Params has no field ${extra.join(', ')}`);
  }
  return new Uint8Array(view.buffer);
}
