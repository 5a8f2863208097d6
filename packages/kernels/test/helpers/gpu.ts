import { afterAll } from 'vitest';
import { acquireDevice, type GpuDevice } from '../../src/gpu/device.ts';
import { GpuEngine } from '../../src/gpu/engine.ts';

/**
 * One real WebGPU device per test file. There is no skip path: CI installs a Vulkan
 * driver (lavapipe) precisely so these tests run, and a missing adapter must fail loudly.
 */
let shared: { gpu: GpuDevice; engine: GpuEngine } | undefined;

export async function testEngine(): Promise<GpuEngine> {
  if (!shared) {
    const gpu = await acquireDevice();
    shared = { gpu, engine: new GpuEngine(gpu) };
  }
  return shared.engine;
}

afterAll(() => {
  if (!shared) return;
  shared.engine.destroy();
  shared.gpu.destroy();
  shared = undefined;
});

/** Largest |a - b| over two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
