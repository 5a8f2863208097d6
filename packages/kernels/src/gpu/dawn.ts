/**
 * WebGPU in Node: Dawn through the npm `webgpu` package, created once per process. Only
 * the Node entry imports this file, so browser bundles never see the package name.
 */
import { GpuUnavailableError } from './device.ts';

let dawn: GPU | undefined;

export async function dawnGpu(): Promise<GPU> {
  if (dawn) return dawn;
  let module: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    module = (await import('webgpu')) as typeof module;
  } catch (error) {
    throw new GpuUnavailableError(
      `the npm package webgpu (Dawn, WebGPU for Node) could not be loaded (${(error as Error).message.split('\n')[0]}); install it next to moxi: npm install webgpu`,
    );
  }
  Object.assign(globalThis, module.globals);
  // Mesa warns on every start without a runtime dir; /tmp is what it falls back to anyway.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  // Dawn hides shader-f16 on NVIDIA's Vulkan driver unless this toggle is on (the
  // precision f16 path needs it); elsewhere the toggle changes nothing. The instance is
  // kept for the process's lifetime: Dawn aborts if it is collected while devices live.
  dawn = module.create(['enable-dawn-features=vulkan_enable_f16_on_nvidia']);
  return dawn;
}
