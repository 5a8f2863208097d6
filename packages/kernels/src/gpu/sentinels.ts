import { GpuTensor, type GpuDtype } from './gpu-tensor.ts';

/** Bytes of guard after every guarded tensor: more than any kernel's vector or tile overrun. */
const GUARD_BYTES = 256;
/** The guard word: a NaN no kernel computes. */
const GUARD_WORD = 0x7fbadbad;

export interface SentinelViolation {
  label: string;
  shape: readonly number[];
  /** Byte offset past the tensor's end of the first overwritten guard byte. */
  firstByte: number;
}

/**
 * Test mode of the engine (as ggml's test-backend-ops does): every tensor gets its own
 * buffer, its tensor followed by guard words, kept until check(), which reports any tensor
 * whose guard a kernel overwrote, i.e. a write past the end of its output. Pooled buffers
 * would hide such writes, since they are larger than their tensors.
 */
export class SentinelGuard {
  private static readonly buffers = new WeakSet<GPUBuffer>();

  /** Whether a buffer is a guarded tensor's (released tensors keep theirs until check()). */
  static owns(buffer: GPUBuffer): boolean {
    return SentinelGuard.buffers.has(buffer);
  }

  private readonly guarded: Array<{ tensor: GpuTensor; dataBytes: number; label: string }> = [];
  /** The kernels that wrote each buffer, for the report. */
  private readonly writers = new Map<GPUBuffer, Set<string>>();

  constructor(private readonly device: GPUDevice) {}

  tensor(shape: readonly number[], dtype: GpuDtype, dataBytes: number, label: string): GpuTensor {
    // The guard starts right after the last element (f16 tensors: possibly mid-word).
    const start = Math.ceil(dataBytes / 4) * 4;
    const buffer = this.device.createBuffer({ size: start + GUARD_BYTES, usage: 0x80 | 0x04 | 0x08, mappedAtCreation: true, label });
    const bytes = new Uint8Array(buffer.getMappedRange());
    new Uint32Array(bytes.buffer).fill(GUARD_WORD);
    buffer.unmap();
    const tensor = new GpuTensor(buffer, shape, false, dtype);
    SentinelGuard.buffers.add(buffer);
    this.guarded.push({ tensor, dataBytes, label });
    return tensor;
  }

  noteWriter(buffer: GPUBuffer, kernel: string): void {
    let set = this.writers.get(buffer);
    if (!set) this.writers.set(buffer, (set = new Set()));
    set.add(kernel);
  }

  /** Reads every guard back (after all recorded work) and frees the buffers. */
  async check(flush: () => void): Promise<SentinelViolation[]> {
    flush();
    const violations: SentinelViolation[] = [];
    const guard = new Uint8Array(new Uint32Array([GUARD_WORD]).buffer);
    for (const { tensor, dataBytes, label } of this.guarded.splice(0)) {
      const size = tensor.buffer.size;
      const staging = this.device.createBuffer({ size, usage: 0x01 | 0x08 });
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(tensor.buffer, 0, staging, 0, size);
      this.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(0x01);
      const bytes = new Uint8Array(staging.getMappedRange());
      for (let b = dataBytes; b < size; b++) {
        if (bytes[b] !== guard[b % 4]) {
          violations.push({ label: `${label} written by ${[...(this.writers.get(tensor.buffer) ?? [])].join(', ') || 'no kernel'}`, shape: tensor.shape, firstByte: b - dataBytes });
          break;
        }
      }
      staging.unmap();
      staging.destroy();
      tensor.buffer.destroy();
    }
    this.writers.clear();
    return violations;
  }
}
