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

/** Builds a uniform block field by field; every field is 4 bytes, as in the WGSL structs. */
export class ParamWriter {
  private readonly view = new DataView(new ArrayBuffer(256));
  private offset = 0;

  u32(value: number): this {
    this.view.setUint32(this.offset, value >>> 0, true);
    this.offset += 4;
    return this;
  }

  i32(value: number): this {
    this.view.setInt32(this.offset, value | 0, true);
    this.offset += 4;
    return this;
  }

  f32(value: number): this {
    this.view.setFloat32(this.offset, value, true);
    this.offset += 4;
    return this;
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.view.buffer, 0, Math.max(16, Math.ceil(this.offset / 16) * 16));
  }
}
