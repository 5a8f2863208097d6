/**
 * Storage buffers are recycled by size class instead of created per op: creating and
 * destroying GPU buffers in a forward pass costs more than the kernels on small models.
 * Size classes are 2^k x {1, 1.25, 1.5, 1.75}, so a reused buffer wastes at most 25%.
 *
 * Reuse is safe within one queue: WebGPU executes recorded commands in order, so a buffer
 * released after its last recorded use may be written by a later command. Host uploads
 * are the exception (queue.writeBuffer runs before still-unsubmitted commands); the
 * engine flushes before every upload for that reason.
 */
export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

export function sizeClass(byteSize: number): number {
  const bytes = Math.max(256, Math.ceil(byteSize / 16) * 16);
  const power = 2 ** Math.floor(Math.log2(bytes));
  const quarter = power / 4;
  return quarter >= 4 ? Math.ceil(bytes / quarter) * quarter : power * 2;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Buffers currently in the free lists: releasing one twice would hand it out twice. */
  private readonly idle = new Set<GPUBuffer>();
  private live = 0;
  private pooled = 0;
  /** Buffers made and not destroyed, idle or handed out. */
  private made = 0;
  peakBytes = 0;

  constructor(private readonly device: GPUDevice) {}

  acquire(byteSize: number, label = 'pooled'): GPUBuffer {
    const size = sizeClass(byteSize);
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.idle.delete(reused);
      this.pooled -= size;
      return reused;
    }
    const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
    this.made += 1;
    this.live += size;
    this.peakBytes = Math.max(this.peakBytes, this.live);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (this.idle.has(buffer)) throw new Error(`buffer released twice (${buffer.label})`);
    this.idle.add(buffer);
    const list = this.free.get(buffer.size);
    if (list) list.push(buffer);
    else this.free.set(buffer.size, [buffer]);
    this.pooled += buffer.size;
  }

  /** Destroys every idle buffer (after a large batch, before a different model). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.live -= this.pooled;
    this.made -= this.idle.size;
    this.pooled = 0;
    this.free.clear();
    this.idle.clear();
  }

  /** Bytes of every buffer the pool made and has not destroyed, idle or handed out. */
  get bytesAllocated(): number {
    return this.live;
  }

  /** Buffers handed out and not released: what leaks when a pass forgets a release. */
  get buffersInUse(): number {
    return this.made - this.idle.size;
  }

  /** Bytes of the released buffers waiting in the free lists (what trim() would free). */
  get bytesIdle(): number {
    return this.pooled;
  }
}
