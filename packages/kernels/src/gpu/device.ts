/**
 * One way to get a WebGPU device, in browsers (navigator.gpu) and in Node (Dawn through
 * the npm `webgpu` package). Limits and optional features are read from the adapter and
 * requested explicitly: kernels size their work from `GpuDevice.limits`, never from
 * assumptions about the hardware.
 */

export interface GpuFeatures {
  shaderF16: boolean;
  timestampQuery: boolean;
  subgroups: boolean;
}

export interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  minUniformBufferOffsetAlignment: number;
}

export interface GpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: 'dawn-node' | 'browser';
  /** True for CPU rasterisers (lavapipe, SwiftShader): useful when reading benchmark figures. */
  isSoftware: boolean;
}

export interface GpuDevice {
  device: GPUDevice;
  adapter: GpuAdapterSummary;
  features: GpuFeatures;
  limits: GpuLimits;
  /** Resolves with a message when the device is lost (driver reset, destroy()). */
  lost: Promise<string>;
  destroy(): void;
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Supply a GPU object (a browser's navigator.gpu, a Dawn instance) instead of finding one. */
  gpu?: GPU;
  /**
   * Buffer limits below the adapter's (never above; WebGPU's defaults are the floor): to
   * leave room for other work on a shared GPU, or to test the paths that split and refuse
   * work at the limits on a real device.
   */
  limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number };
}

/** No WebGPU adapter could be found; the message says how to get one. */
export class GpuUnavailableError extends Error {
  override readonly name = 'GpuUnavailableError';
}

const NO_ADAPTER_HINT =
  'no WebGPU adapter found. On a machine without a GPU install a Vulkan software driver ' +
  '(Debian 12: mesa-vulkan-drivers from bookworm-backports, see README "Set-up"); ' +
  'in a browser enable WebGPU (chrome://flags/#enable-unsafe-webgpu).';

/**
 * Where WebGPU comes from outside a browser. The browser entry never names Dawn: the Node
 * entry ('@moxi/kernels/node') registers it here when imported, so a web bundle carries
 * no Node module and a Node program gets Dawn without asking.
 */
let gpuProvider: (() => Promise<GPU>) | undefined;

/** Installs the fallback used when there is no `navigator.gpu` and no `options.gpu` (Node: Dawn). */
export function useGpuProvider(provider: () => Promise<GPU>): void {
  gpuProvider = provider;
}

const NO_PROVIDER_HINT =
  'no WebGPU in this JavaScript runtime: in a browser use one with WebGPU (Chrome, Edge; chrome://flags/#enable-unsafe-webgpu), ' +
  "in Node import '@moxi/kernels/node' (or '@moxi/attrib', which does) and install the npm package webgpu";

async function findGpu(): Promise<{ gpu: GPU; backend: GpuAdapterSummary['backend'] }> {
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (browserGpu) return { gpu: browserGpu, backend: 'browser' };
  if (!gpuProvider) throw new GpuUnavailableError(NO_PROVIDER_HINT);
  return { gpu: await gpuProvider(), backend: 'dawn-node' };
}

const SOFTWARE_ADAPTERS = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render/i;

export async function acquireDevice(options: AcquireOptions = {}): Promise<GpuDevice> {
  const found = options.gpu
    ? { gpu: options.gpu, backend: 'browser' as const }
    : await findGpu();
  const adapter = await found.gpu.requestAdapter({
    powerPreference: options.powerPreference ?? 'high-performance',
  });
  if (!adapter) throw new GpuUnavailableError(NO_ADAPTER_HINT);

  const wanted: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const a = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: Math.min(a.maxStorageBufferBindingSize, options.limits?.maxStorageBufferBindingSize ?? Infinity),
    maxBufferSize: Math.min(a.maxBufferSize, options.limits?.maxBufferSize ?? Infinity),
    maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
  };
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });

  const info = adapter.info;
  const summary: GpuAdapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    backend: found.backend,
    isSoftware: SOFTWARE_ADAPTERS.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`),
  };
  const lost = device.lost.then((l) => `${l.reason}: ${l.message}`);
  return {
    device,
    adapter: summary,
    features: {
      shaderF16: device.features.has('shader-f16'),
      timestampQuery: device.features.has('timestamp-query'),
      subgroups: device.features.has('subgroups'),
    },
    limits: {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: device.limits.maxStorageBuffersPerShaderStage,
      minUniformBufferOffsetAlignment: device.limits.minUniformBufferOffsetAlignment,
    },
    lost,
    destroy: () => device.destroy(),
  };
}
