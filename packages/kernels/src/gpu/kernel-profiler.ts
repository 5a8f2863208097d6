/**
 * Per-kernel GPU time from timestamp queries, where the adapter offers them. Each
 * profiled dispatch runs in its own compute pass with begin/end timestamps; results are
 * summed per label so a forward pass reads as a table (matmul.qkv, attention, ...).
 */
const MAX_QUERIES = 4096;

export interface KernelTime {
  label: string;
  count: number;
  milliseconds: number;
}

export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private labels: string[] = [];
  private readonly pending: Array<{ buffer: GPUBuffer; labels: string[] }> = [];
  private readonly totals = new Map<string, KernelTime>();

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: MAX_QUERIES });
    this.resolveBuffer = device.createBuffer({
      size: MAX_QUERIES * 8,
      usage: 0x200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */,
    });
  }

  get full(): boolean {
    return this.labels.length * 2 >= MAX_QUERIES;
  }

  passDescriptor(label: string): GPUComputePassDescriptor {
    const index = this.labels.length * 2;
    this.labels.push(label);
    return {
      label,
      timestampWrites: {
        querySet: this.querySet,
        beginningOfPassWriteIndex: index,
        endOfPassWriteIndex: index + 1,
      },
    };
  }

  /** Records the resolve + copy for the queries written since the last call. */
  resolve(encoder: GPUCommandEncoder): void {
    if (this.labels.length === 0) return;
    const count = this.labels.length * 2;
    const readback = this.device.createBuffer({ size: count * 8, usage: 0x01 /* MAP_READ */ | 0x08 });
    encoder.resolveQuerySet(this.querySet, 0, count, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, readback, 0, count * 8);
    this.pending.push({ buffer: readback, labels: this.labels });
    this.labels = [];
  }

  /** Waits for every resolved batch and returns the totals so far, slowest first. */
  async collect(): Promise<KernelTime[]> {
    for (const { buffer, labels } of this.pending.splice(0)) {
      await buffer.mapAsync(0x01 /* READ */);
      const stamps = new BigInt64Array(buffer.getMappedRange().slice(0));
      buffer.unmap();
      buffer.destroy();
      labels.forEach((label, i) => {
        const ns = Number((stamps[2 * i + 1] ?? 0n) - (stamps[2 * i] ?? 0n));
        const entry = this.totals.get(label) ?? { label, count: 0, milliseconds: 0 };
        entry.count += 1;
        entry.milliseconds += Math.max(0, ns) / 1e6;
        this.totals.set(label, entry);
      });
    }
    return [...this.totals.values()].sort((a, b) => b.milliseconds - a.milliseconds);
  }

  /** Forgets every time recorded so far, resolved or not. */
  reset(): void {
    this.totals.clear();
    for (const { buffer } of this.pending.splice(0)) buffer.destroy();
    this.labels = [];
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}
