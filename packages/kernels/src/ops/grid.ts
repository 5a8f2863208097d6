import type { GpuEngine } from '../gpu/engine.ts';

/**
 * Workgroup grid for a flat range of invocations. Large ranges fold into y because a
 * dimension holds at most maxComputeWorkgroupsPerDimension (65535 on most adapters);
 * shaders recover the flat index as gid.x + gid.y * num_workgroups.x * workgroupSize.
 */
export function grid2d(engine: GpuEngine, invocations: number, workgroupSize: number): [number, number] {
  const groups = Math.ceil(invocations / workgroupSize);
  const max = engine.gpu.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}
