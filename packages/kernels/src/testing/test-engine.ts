import '../node.ts';
import { acquireDevice, type GpuDevice } from '../gpu/device.ts';
import { GpuEngine } from '../gpu/engine.ts';

/**
 * One real WebGPU device shared by a test file. There is no skip path: CI installs a
 * Vulkan driver (lavapipe) precisely so GPU tests run, and a missing adapter must fail.
 */
let shared: { gpu: GpuDevice; engine: GpuEngine } | undefined;

export async function testEngine(): Promise<GpuEngine> {
  if (!shared) {
    const gpu = await acquireDevice();
    shared = { gpu, engine: new GpuEngine(gpu) };
  }
  return shared.engine;
}

/** Call from afterAll: drops every reference to the Dawn device so the worker can exit. */
export function releaseTestEngine(): void {
  if (!shared) return;
  shared.engine.destroy();
  shared.gpu.destroy();
  shared = undefined;
}
