import { create, globals } from 'webgpu';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

let sharedGpu: GPU | undefined;

/**
 * One Dawn `GPU` per process, with the WebGPU interface classes (GPUDevice, GPUBufferUsage,
 * ...) installed on globalThis, where browser code such as onnxruntime-web expects them.
 */
export function getDawnGpu(): GPU {
  if (!sharedGpu) {
    Object.assign(globalThis, globals);
    sharedGpu = create([]);
  }
  return sharedGpu;
}

export async function requestDawnAdapter(): Promise<GPUAdapter> {
  const adapter = await getDawnGpu().requestAdapter();
  if (!adapter) {
    throw new Error('Dawn found no WebGPU adapter: install a Vulkan driver (Mesa lavapipe >= 23) and set XDG_RUNTIME_DIR');
  }
  return adapter;
}

export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const { vendor, architecture, device, description } = adapter.info;
  return { vendor, architecture, device, description };
}
