import { elementCount } from '../host-tensor.ts';
import { BufferPool } from './buffer-pool.ts';
import type { GpuDevice } from './device.ts';
import { bytesPerElement, GpuTensor } from './gpu-tensor.ts';
import { KernelProfiler, type KernelTime } from './kernel-profiler.ts';
import { workgroupSize, type KernelSpec, type OverrideConstants } from './kernel-spec.ts';
import { workgroupGrid, type Invocations } from './launch-grid.ts';
import { PipelineCache } from './pipeline-cache.ts';
import { SentinelGuard, type SentinelViolation } from './sentinels.ts';
import { ScopeStack, type TensorScope } from './tensor-scope.ts';
import { packParams, UniformArena } from './uniform-arena.ts';
import { float16ArrayToFloat32, float32ToFloat16Bits } from '../io/half-float.ts';

export interface Dispatch {
  kernel: KernelSpec;
  constants?: OverrideConstants;
  /** The fields of the kernel's `struct Params` by name, when it has one (see packParams). */
  params?: Readonly<Record<string, number>>;
  /**
   * Every storage binding by its WGSL name. `undefined` marks a binding an override
   * constant switches off: a placeholder buffer fills its slot.
   */
  buffers: Readonly<Record<string, GpuTensor | GPUBuffer | undefined>>;
  /**
   * The invocations to run, in the kernel's own terms (one per element, row, query, or
   * tile of outputs); the engine covers them with workgroups of the kernel's
   * @workgroup_size, so no op restates it. See Invocations.
   */
  invocations: Invocations;
  /** Name in kernel timings; defaults to the kernel name. */
  label?: string;
}

/** A GPU-side error (validation, out of memory) surfaced at the next read. */
export class GpuExecutionError extends Error {
  override readonly name = 'GpuExecutionError';
}

/**
 * The device could not allocate a buffer (GPUOutOfMemoryError): other processes hold its
 * memory, or this run asked for more than it has. The message gives what moxi held when it
 * happened, so a user can tell which; the idle pooled buffers are freed before it is thrown.
 */
export class GpuOutOfMemoryError extends Error {
  override readonly name = 'GpuOutOfMemoryError';
}

/** Bytes as MiB with one decimal, for messages about memory. */
export function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Dawn's out-of-memory error class, where the platform has it (browsers, Dawn's node bindings). */
function isOutOfMemory(error: GPUError): boolean {
  const OutOfMemory = (globalThis as { GPUOutOfMemoryError?: abstract new (...args: never[]) => GPUError }).GPUOutOfMemoryError;
  return OutOfMemory !== undefined ? error instanceof OutOfMemory : error.constructor.name === 'GPUOutOfMemoryError';
}

/**
 * The device went away mid-run (driver reset, GPU removed, another process's fault, or
 * destroy()): nothing recorded after it runs. The message says so in one line and what to
 * do; `moxi evaluate` resumes from its records.
 */
export class GpuDeviceLostError extends Error {
  override readonly name = 'GpuDeviceLostError';
  constructor(readonly reason: string) {
    super(`the GPU device was lost (${reason}); nothing after that point ran. Run the command again (moxi evaluate resumes from its records)`);
  }
}

/**
 * Records dispatches into one command encoder and submits them in batches. Owns the
 * buffer pool, pipeline cache, uniform arena, tensor scopes and (optionally) the kernel
 * profiler, so ops only describe work: kernel, bindings, invocations.
 */
export class GpuEngine {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  private readonly uniforms: UniformArena;
  private profiler: KernelProfiler | undefined;
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private firstError: string | undefined;
  private laterErrors = 0;
  /** Set by the first out-of-memory error: what moxi held then, for the message. */
  private outOfMemory: { message: string; weightBytes: number; workingBytes: number } | undefined;
  /** The buffers persistent() made that release() has not destroyed (a model's weights), and their bytes. */
  private readonly persistentBuffers = new Set<GPUBuffer>();
  private persistentBytes = 0;
  private dummies: { read: GpuTensor; write: GpuTensor } | undefined;
  private sentinels: SentinelGuard | undefined;
  private lostReason: string | undefined;
  private readonly scopes = new ScopeStack();

  /**
   * Attention in one fused dispatch (ops/attention.ts) when the probabilities are not
   * needed: on hardware adapters, where it saves the scores' round trip through memory;
   * not on software rasterisers, where the strided GEMMs are 3x faster (lavapipe, ViT-Tiny
   * batch 8: 781 vs 2,200 ms of the forward). Tests switch it to check both paths.
   */
  fusedAttention: boolean;

  constructor(readonly gpu: GpuDevice) {
    this.device = gpu.device;
    this.fusedAttention = !gpu.adapter.isSoftware;
    void gpu.lost.then((reason) => (this.lostReason = reason));
    this.pool = new BufferPool(this.device);
    this.pipelines = new PipelineCache(this.device);
    this.uniforms = new UniformArena(this.device, gpu.limits.minUniformBufferOffsetAlignment);
    // preventDefault: Dawn (npm webgpu) otherwise prints every uncaptured error on stdout,
    // which carries results only. The first error is thrown at the next read (one line);
    // the ones after it are usually its consequences ("invalid due to a previous error").
    this.device.addEventListener('uncapturederror', (event) => {
      event.preventDefault();
      const error = (event as GPUUncapturedErrorEvent).error;
      const message = error.message;
      if (isOutOfMemory(error) && this.outOfMemory === undefined) {
        this.outOfMemory = { message, weightBytes: this.persistentBytes, workingBytes: this.pool.bytesAllocated };
      }
      if (this.firstError === undefined) this.firstError = message;
      else this.laterErrors += 1;
    });
  }

  /** Turns per-kernel timestamp profiling on (when the adapter supports it). */
  enableProfiling(): boolean {
    if (!this.gpu.features.timestampQuery) return false;
    this.profiler ??= new KernelProfiler(this.device);
    return true;
  }

  /** Turns profiling off again: later dispatches share one compute pass and are not timed. */
  disableProfiling(): void {
    this.flush();
    this.profiler?.destroy();
    this.profiler = undefined;
  }

  get profiling(): boolean {
    return this.profiler !== undefined;
  }

  /** A pooled tensor with undefined contents; f16 tensors take 2 bytes per element (rounded up to 4 in all). */
  empty(shape: readonly number[], dtype: 'f32' | 'f16' = 'f32'): GpuTensor {
    const bytes = elementCount(shape) * bytesPerElement(dtype);
    if (this.sentinels) return this.made(this.sentinels.tensor(shape, dtype, bytes, 'empty'));
    // Pooled sizes are whole multiples of 16 bytes, so an odd f16 count still fits.
    return this.made(new GpuTensor(this.pool.acquire(Math.max(4, bytes)), shape, true, dtype));
  }

  /** A tensor empty() or upload() made: the open scope, if any, owns it (persistent() weights belong to no scope). */
  private made(tensor: GpuTensor): GpuTensor {
    this.scopes.made(tensor);
    return tensor;
  }

  /**
   * Runs `fn` (which records GPU work synchronously) and then releases every tensor made
   * inside it, except those in its return value (a tensor, or arrays and plain objects of
   * them) and those released already; see TensorScope. Scopes nest: what an inner one
   * returns, the outer one owns. `scope.adopt(t)` hands the scope a tensor made before it.
   */
  scope<T>(fn: (scope: TensorScope) => T): T {
    return this.scopes.run(fn, (tensors) => this.release(...tensors));
  }

  /**
   * Test mode: from now on every tensor gets its own buffer with guard words after it, and
   * checkSentinels() reports each one a kernel wrote past (see SentinelGuard).
   */
  enableSentinels(): void {
    this.flush();
    this.sentinels ??= new SentinelGuard(this.device);
  }

  /** The tensors written past their end since enableSentinels(); sentinel mode then ends. */
  async checkSentinels(): Promise<SentinelViolation[]> {
    const guard = this.sentinels;
    this.sentinels = undefined;
    return guard ? guard.check(() => this.flush()) : [];
  }

  /** A pooled tensor holding `data` (float32 values or uint32 indices). */
  upload(data: Float32Array | Uint32Array, shape: readonly number[]): GpuTensor {
    if (data.length !== elementCount(shape)) {
      throw new Error(`upload: ${data.length} values for shape [${shape.join(', ')}]`);
    }
    // queue.writeBuffer runs before commands still in the encoder; a recycled buffer may
    // still be read by one of them.
    this.flush();
    const dtype = data instanceof Uint32Array ? 'u32' : 'f32';
    const tensor = this.sentinels ? this.sentinels.tensor(shape, dtype, data.byteLength, 'upload') : new GpuTensor(this.pool.acquire(Math.max(4, data.byteLength)), shape, true, dtype);
    if (data.byteLength > 0) {
      this.device.queue.writeBuffer(tensor.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    }
    return this.made(tensor);
  }

  /** A tensor in its own exactly-sized buffer, for weights that live as long as a model; f16 rounds each value to nearest even. */
  persistent(data: Float32Array, shape: readonly number[], label: string, dtype: 'f32' | 'f16' = 'f32'): GpuTensor {
    const size = Math.max(16, Math.ceil((data.length * bytesPerElement(dtype)) / 16) * 16);
    let buffer: GPUBuffer;
    try {
      buffer = this.device.createBuffer({ size, usage: 0x80 | 0x04 | 0x08, mappedAtCreation: true, label });
    } catch (error) {
      // A mapping the host cannot allocate is a RangeError (WebGPU spec), thrown here.
      if (!(error instanceof RangeError)) throw error;
      this.pool.trim();
      throw new GpuOutOfMemoryError(`the GPU ran out of memory uploading ${label} (${mebibytes(size)}) after ${mebibytes(this.persistentBytes)} of weights; the model does not fit next to what else runs on this GPU`);
    }
    this.persistentBuffers.add(buffer);
    this.persistentBytes += size;
    if (dtype === 'f16') {
      const bits = new Uint16Array(buffer.getMappedRange());
      for (let i = 0; i < data.length; i++) bits[i] = float32ToFloat16Bits(data[i]!);
    } else new Float32Array(buffer.getMappedRange()).set(data);
    buffer.unmap();
    return new GpuTensor(buffer, shape, false, dtype);
  }

  /**
   * Placeholders for bindings an override constant switches off. Two of them, because a
   * dispatch may not bind one buffer both read-only and writable.
   */
  get dummy(): { read: GpuTensor; write: GpuTensor } {
    this.dummies ??= {
      read: new GpuTensor(this.pool.acquire(16), [4], false),
      write: new GpuTensor(this.pool.acquire(16), [4], false),
    };
    return this.dummies;
  }

  release(...tensors: Array<GpuTensor | undefined>): void {
    for (const t of tensors) {
      if (!t) continue;
      this.scopes.disown(t.buffer);
      if (t.pooled) this.pool.release(t.buffer);
      // Sentinel mode keeps its buffers until checkSentinels() has read their guards.
      else if (!SentinelGuard.owns(t.buffer)) {
        if (this.persistentBuffers.delete(t.buffer)) this.persistentBytes -= t.buffer.size;
        t.buffer.destroy();
      }
    }
  }

  dispatch(d: Dispatch): void {
    const { pipeline, layout } = this.pipelines.get(d.kernel, d.constants);
    const kernel = d.kernel;
    const entries: GPUBindGroupEntry[] = kernel.bindingNames.map((name, binding) => {
      if (kernel.bindings[binding] === 'uniform') {
        if (!d.params) throw new Error(`${kernel.name}: kernel needs params`);
        const slice = this.uniforms.push(packParams(kernel, d.params));
        return { binding, resource: { buffer: slice.buffer, offset: slice.offset, size: slice.size } };
      }
      if (!(name in d.buffers)) throw new Error(`${kernel.name}: binding ${name} not given (undefined marks one switched off)`);
      const given = d.buffers[name];
      const writes = kernel.bindings[binding] === 'write';
      const buffer = given === undefined ? (writes ? this.dummy.write : this.dummy.read).buffer : given instanceof GpuTensor ? given.buffer : given;
      if (this.sentinels && writes && given !== undefined) this.sentinels.noteWriter(buffer, d.label ?? kernel.name);
      return { binding, resource: { buffer } };
    });
    // Every storage binding was given, so only a count past theirs means names the kernel lacks.
    const storage = kernel.bindings.filter((k) => k !== 'uniform').length;
    if (Object.keys(d.buffers).length > storage) {
      const unknown = Object.keys(d.buffers).filter((name) => {
        const binding = kernel.bindingNames.indexOf(name);
        return binding < 0 || kernel.bindings[binding] === 'uniform';
      });
      throw new Error(`${kernel.name}: no storage binding named ${unknown.join(', ')}`);
    }
    const bindGroup = this.device.createBindGroup({ layout, entries });
    const label = d.label ?? d.kernel.name;
    const maxGroups = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    const [x, y, z] = workgroupGrid(label, d.invocations, workgroupSize(kernel, d.constants), maxGroups);
    if (x > maxGroups || y > maxGroups || z > maxGroups) {
      throw new Error(`${label}: grid ${x}x${y}x${z} exceeds ${maxGroups} workgroups per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;

    const pass = this.beginPass(label);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (this.profiler) {
      pass.end();
      this.pass = undefined;
      if (this.profiler.full) this.flush();
    }
  }

  /** Copies `count` elements between tensors (offsets in elements). */
  copy(src: GpuTensor, srcOffset: number, dst: GpuTensor, dstOffset: number, count: number): void {
    if (src.dtype === 'f16' || dst.dtype === 'f16') throw new Error('copy: f16 tensors are not copied element-wise (4-byte copy granularity)');
    const encoder = this.currentEncoder();
    this.endPass();
    encoder.copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, count * 4);
  }

  /** Zero-fills a tensor (in command order, like a dispatch). */
  clear(t: GpuTensor): void {
    const encoder = this.currentEncoder();
    this.endPass();
    encoder.clearBuffer(t.buffer, 0, Math.ceil(t.byteSize / 4) * 4);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.profiler?.resolve(this.encoder);
    this.uniforms.upload(this.device.queue);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
  }

  /** The tensor's values on the host, as float32 (f16 tensors are widened exactly). */
  async read(tensor: GpuTensor): Promise<Float32Array> {
    const bytes = Math.ceil(tensor.byteSize / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(16, bytes), usage: 0x01 /* MAP_READ */ | 0x08 });
    const encoder = this.currentEncoder();
    this.endPass();
    if (bytes > 0) encoder.copyBufferToBuffer(tensor.buffer, 0, staging, 0, bytes);
    this.flush();
    await this.mapped(staging);
    const mapped = staging.getMappedRange(0, Math.max(16, bytes));
    const out = tensor.dtype === 'f16' ? float16ArrayToFloat32(new Uint16Array(mapped, 0, tensor.size)) : new Float32Array(mapped.slice(0, tensor.size * 4));
    staging.unmap();
    staging.destroy();
    this.throwIfFailed();
    return out;
  }

  async finish(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfLost();
    this.throwIfFailed();
  }

  /** Maps a readback buffer; on a lost device this is where the loss surfaces, as one clear error. */
  private async mapped(staging: GPUBuffer): Promise<void> {
    this.throwIfLost();
    try {
      await staging.mapAsync(0x01);
    } catch (error) {
      // mapAsync rejects once the device is gone; device.lost may resolve a moment later.
      await Promise.race([this.gpu.lost, new Promise((resolve) => setTimeout(resolve, 50))]);
      this.throwIfLost();
      throw error;
    }
    this.throwIfLost();
  }

  private throwIfLost(): void {
    if (this.lostReason !== undefined) throw new GpuDeviceLostError(this.lostReason);
  }

  async kernelTimes(): Promise<KernelTime[]> {
    this.flush();
    return this.profiler ? this.profiler.collect() : [];
  }

  /** Drops the kernel times recorded so far (work already recorded is submitted first). */
  resetKernelTimes(): void {
    this.flush();
    this.profiler?.reset();
  }

  destroy(): void {
    this.flush();
    this.pool.trim();
    this.uniforms.destroy();
    this.profiler?.destroy();
  }

  private throwIfFailed(): void {
    const outOfMemory = this.outOfMemory;
    if (outOfMemory) {
      this.outOfMemory = undefined;
      this.firstError = undefined;
      this.laterErrors = 0;
      // What failed afterwards ran on buffers that were never made; free what is idle so a
      // caller that retries with less work has room.
      const idle = this.pool.bytesIdle;
      this.pool.trim();
      const dawn = outOfMemory.message.split('\n')[0];
      throw new GpuOutOfMemoryError(
        `the GPU ran out of memory (${dawn}) while moxi held ${mebibytes(outOfMemory.weightBytes + outOfMemory.workingBytes)}: ` +
          `${mebibytes(outOfMemory.weightBytes)} of model weights and ${mebibytes(outOfMemory.workingBytes)} of working buffers (${mebibytes(idle)} idle ones now freed). ` +
          'Free the GPU of other processes, or ask for less at once: fewer images or coalitions per forward pass, or f16 precision',
      );
    }
    if (this.firstError) {
      const message = this.firstError;
      const later = this.laterErrors;
      this.firstError = undefined;
      this.laterErrors = 0;
      // The message's first line is what the CLI shows; the count of later errors goes there.
      const [first = '', ...rest] = message.split('\n');
      const more = later > 0 ? ` (and ${later} later WebGPU error${later > 1 ? 's' : ''})` : '';
      throw new GpuExecutionError([`WebGPU error: ${first}${more}`, ...rest].join('\n'));
    }
  }

  private currentEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private beginPass(label: string): GPUComputePassEncoder {
    const encoder = this.currentEncoder();
    if (this.profiler) return encoder.beginComputePass(this.profiler.passDescriptor(label));
    this.pass ??= encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }
}
