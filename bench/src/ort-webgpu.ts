import { setFlagsFromString } from 'node:v8';
import * as ort from 'onnxruntime-web/webgpu';
import { getDawnGpu, requestDawnAdapter } from './dawn-gpu.ts';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from './onnx-graph-builder.ts';
import { randomImageBatch } from './random-weights.ts';

export interface OrtWebgpuSessionOptions {
  /** Adapter to run on; share the one moxi's engine uses to compare on the same device. */
  adapter?: GPUAdapter;
  /** A ready device to hand ORT; by default one is requested from `adapter` the way ORT would. */
  device?: GPUDevice;
}

export interface OrtWebgpuSession {
  session: ort.InferenceSession;
  adapter: GPUAdapter;
  device: GPUDevice;
}

export interface OrtTiming {
  imagesPerSecond: number;
  msPerBatch: number;
  /** Wall time of the untimed first run: shader compilation, buffer pools. */
  warmupMs: number;
  /** Wall time of each timed `session.run`, warm-up excluded. */
  iterationMs: number[];
  /** Logits of the last timed run, [batch, classes] row-major. */
  outputs: Float32Array;
}

/** The onnxruntime-web release actually loaded, for reports. */
export const ortWebVersion: string = ort.env.versions.web ?? ort.env.versions.common;

let writeBufferShimInstalled = false;

/**
 * ORT's wasm heap is a shared WebAssembly.Memory, and its WebGPU EP uploads uniforms and
 * small tensors with `queue.writeBuffer(buffer, offset, heapView, 0, size)`. Browsers
 * accept views of a SharedArrayBuffer there; dawn.node does not, so copy such views into
 * a plain buffer first. Views of ordinary memory pass through untouched.
 */
export function installSharedMemoryWriteBufferShim(): void {
  if (writeBufferShimInstalled) return;
  getDawnGpu();
  const proto = globalThis.GPUQueue.prototype;
  const original = proto.writeBuffer;
  proto.writeBuffer = function writeBuffer(
    this: GPUQueue,
    buffer: GPUBuffer,
    bufferOffset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset?: number,
    size?: number,
  ): undefined {
    const backing = ArrayBuffer.isView(data) ? data.buffer : data;
    if (!(backing instanceof SharedArrayBuffer)) {
      return original.call(this, buffer, bufferOffset, data as BufferSource, dataOffset, size);
    }
    // dataOffset and size count elements of a typed array, bytes otherwise (WebGPU spec).
    const elementBytes = ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data.BYTES_PER_ELEMENT as number) : 1;
    const viewStart = ArrayBuffer.isView(data) ? data.byteOffset : 0;
    const start = (dataOffset ?? 0) * elementBytes;
    const bytes = size === undefined ? data.byteLength - start : size * elementBytes;
    const copy = new Uint8Array(bytes);
    copy.set(new Uint8Array(backing, viewStart + start, bytes));
    return original.call(this, buffer, bufferOffset, copy, 0, bytes);
  };
  writeBufferShimInstalled = true;
}

/**
 * ORT refuses the WebGPU EP unless `navigator.gpu` exists, and Node 20 has no `navigator`.
 * It is only read while the EP initializes (we always hand ORT a device), so it is set for
 * that call alone: code that takes a global `navigator.gpu` as "running in a browser"
 * (moxi's acquireDevice does) sees the process as it was.
 */
async function withNavigatorGpu<T>(gpu: GPU, work: () => Promise<T>): Promise<T> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu) return work();
  const ownsNavigator = g.navigator === undefined;
  if (ownsNavigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  try {
    return await work();
  } finally {
    if (ownsNavigator) delete g.navigator;
    else delete g.navigator?.gpu;
  }
}

/**
 * A pending dawn.node promise does not keep Node's event loop alive. When ORT awaits one
 * (buffer map, work done) with nothing else pending, the loop runs empty and Node parks in
 * NodePlatform::DrainTasks (seen in gdb) until every V8 background job has finished; with
 * TurboFan recompiling ORT's wasm that stalled session creation 30-60 s. A ref'd timer
 * keeps the loop turning so the promise settles as soon as Dawn completes it.
 */
export async function keepEventLoopAlive<T>(work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

let ortConfigured = false;

/** Settings that only take effect before ORT's first session; applied once per process. */
function configureOrt(): void {
  if (ortConfigured) return;
  // V8 first compiles ORT's 26 MB wasm with Liftoff, then recompiles it with TurboFan in
  // the background: ~40 s of CPU that, on a 2-core machine, competes with lavapipe during
  // timing and holds up process exit. The WebGPU EP's wasm side only schedules work, so
  // Liftoff code changes its time per batch within noise (ViT-Tiny batch 1: 1.04 s vs
  // 1.09 s fully tiered up); only the wasm CPU reference run gets ~2x slower. Must run
  // before the module is compiled, hence here. No effect on code without wasm.
  setFlagsFromString('--liftoff-only');
  // One wasm thread: the WebGPU EP does its work on the GPU queue, and pthread workers
  // would keep the Node process alive and compete with lavapipe for the same cores.
  ort.env.wasm.numThreads = 1;
  ortConfigured = true;
}

/** Features and limits ORT's WebGPU EP asks for when it creates its own device. */
const ORT_DEVICE_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups'];
const ORT_DEVICE_LIMITS = [
  'maxBindGroups',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
] as const;

export async function requestOrtDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of ORT_DEVICE_LIMITS) requiredLimits[name] = adapter.limits[name];
  return adapter.requestDevice({
    requiredFeatures: ORT_DEVICE_FEATURES.filter((f) => adapter.features.has(f)),
    requiredLimits,
  });
}

/** An onnxruntime-web session on the WebGPU EP (the native C++ EP in ORT 1.30) over Dawn. */
export async function createOrtWebgpuSession(
  modelBytes: Uint8Array,
  options: OrtWebgpuSessionOptions = {},
): Promise<OrtWebgpuSession> {
  const gpu = getDawnGpu();
  installSharedMemoryWriteBufferShim();
  configureOrt();
  const adapter = options.adapter ?? (await requestDawnAdapter());
  const device = options.device ?? (await requestOrtDevice(adapter));
  // Without it ORT would request a second adapter through navigator.gpu just to validate it.
  if (!ort.env.webgpu.adapter) ort.env.webgpu.adapter = adapter;
  const session = await withNavigatorGpu(gpu, () =>
    keepEventLoopAlive(() => ort.InferenceSession.create(modelBytes, { executionProviders: [{ name: 'webgpu', device }] })),
  );
  return { session, adapter, device };
}

/** The same model on ORT's wasm CPU EP: the reference the WebGPU logits are checked against. */
export async function createOrtWasmSession(modelBytes: Uint8Array): Promise<ort.InferenceSession> {
  configureOrt();
  return ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'] });
}

function sessionOf(session: ort.InferenceSession | OrtWebgpuSession): ort.InferenceSession {
  return 'session' in session ? session.session : session;
}

/** One forward pass with the input on the CPU and the logits read back to the CPU. */
export async function runOrt(
  session: ort.InferenceSession | OrtWebgpuSession,
  input: Float32Array,
  inputShape: readonly number[],
): Promise<Float32Array> {
  const feeds = { [ONNX_INPUT_NAME]: new ort.Tensor('float32', input, inputShape) };
  const results = await keepEventLoopAlive(() => sessionOf(session).run(feeds));
  const logits = results[ONNX_OUTPUT_NAME];
  if (!logits) throw new Error(`session produced no "${ONNX_OUTPUT_NAME}" output`);
  const data = await keepEventLoopAlive(() => logits.getData(true));
  if (!(data instanceof Float32Array)) throw new Error(`"${ONNX_OUTPUT_NAME}" is ${logits.type}, expected float32`);
  return data;
}

/**
 * Throughput as a user sees it: CPU input in, CPU logits out, one warm-up run (shader
 * compilation, buffer pools) excluded, then `iterations` timed runs back to back.
 */
export async function timeOrt(
  session: ort.InferenceSession | OrtWebgpuSession,
  inputShape: readonly [number, number, number, number],
  iterations: number,
  input: Float32Array = randomImageBatch(inputShape),
): Promise<OrtTiming> {
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`iterations must be a positive integer, got ${iterations}`);
  const batch = inputShape[0];
  const warmupStart = performance.now();
  let outputs = await runOrt(session, input, inputShape);
  const warmupMs = performance.now() - warmupStart;
  const iterationMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    outputs = await runOrt(session, input, inputShape);
    iterationMs.push(performance.now() - start);
  }
  const msPerBatch = iterationMs.reduce((a, b) => a + b, 0) / iterations;
  return { imagesPerSecond: (batch * 1000) / msPerBatch, msPerBatch, warmupMs, iterationMs, outputs };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}
