import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { acquireDevice, GpuEngine, measureMatmulCeiling, type GpuDevice, type MatmulCeiling } from '@moxi/kernels';
import { log, writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';

/** Where Vulkan loaders look for installable client drivers (ICDs) on Linux. */
const ICD_FOLDERS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

interface DoctorReport {
  adapter: GpuDevice['adapter'];
  features: GpuDevice['features'];
  limits: GpuDevice['limits'];
  attention: 'fused' | 'three dispatches';
  vulkanDrivers: string[];
  matmulCeiling: MatmulCeiling;
  warnings: string[];
}

export function registerDoctor(program: Command, run: CommandRunner): void {
  program
    .command('doctor')
    .description('the WebGPU adapter moxi runs on: hardware or software, features, limits, and its measured matmul ceiling (GFLOP/s)')
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (o: { json?: boolean }) => {
      const gpu = await acquireDevice();
      const engine = new GpuEngine(gpu);
      try {
        log('measuring the matmul ceiling (a few seconds on a software rasteriser)…');
        const matmulCeiling = await measureMatmulCeiling(engine);
        const vulkanDrivers = ICD_FOLDERS.filter(existsSync).flatMap((folder) => readdirSync(folder).filter((f) => f.endsWith('.json')).map((f) => join(folder, f)));
        const warnings: string[] = [];
        if (gpu.adapter.isSoftware) {
          warnings.push(
            'this adapter is a software rasteriser: every forward pass runs on the CPU, far slower than on a GPU. ' +
              'If this machine has a GPU, Dawn cannot see it: install its Vulkan driver (NVIDIA: the driver\'s nvidia_icd.json; AMD and Intel: Mesa\'s radeon / intel ICDs) ' +
              'and, in a container, expose the GPU with its graphics capability (NVIDIA container runtime: NVIDIA_DRIVER_CAPABILITIES including graphics).',
          );
        }
        const report: DoctorReport = {
          adapter: gpu.adapter,
          features: gpu.features,
          limits: gpu.limits,
          attention: engine.fusedAttention ? 'fused' : 'three dispatches',
          vulkanDrivers,
          matmulCeiling,
          warnings,
        };
        if (o.json) writeJson(report);
        else writeLines(doctorText(report));
      } finally {
        engine.destroy();
        gpu.destroy();
      }
    }));
}

const yesNo = (v: boolean) => (v ? 'yes' : 'no');

/** A label column wide enough that two spaces always separate it from the value. */
const row = (label: string, value: string) => `${label.padEnd(16)}${value}`;

function bytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MiB` : `${(n / 2 ** 10).toFixed(0)} KiB`;
}

export function doctorText(r: DoctorReport): string[] {
  const a = r.adapter;
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ');
  const c = r.matmulCeiling;
  return [
    row('adapter', `${a.description || name}${a.description && name ? ` (${name})` : ''}, through ${a.backend === 'dawn-node' ? 'Dawn (npm webgpu)' : 'the browser'}`),
    row('kind', `${a.isSoftware ? 'software rasteriser (runs on the CPU)' : 'hardware GPU'}`),
    row('features', `shader-f16 ${yesNo(r.features.shaderF16)}, subgroups ${yesNo(r.features.subgroups)}, timestamp-query ${yesNo(r.features.timestampQuery)} (bench --profile needs it)`),
    row('limits', `storage binding ${bytes(r.limits.maxStorageBufferBindingSize)}, buffer ${bytes(r.limits.maxBufferSize)} (these bound batch sizes), ` +
      `workgroup memory ${bytes(r.limits.maxComputeWorkgroupStorageSize)}, ${r.limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup, ${r.limits.maxComputeWorkgroupsPerDimension} workgroups per dimension`),
    row('attention', `${r.attention}${r.attention === 'fused' ? ' (one dispatch per head and 64 queries)' : ' (scores GEMM, softmax, values GEMM: faster on software rasterisers)'}`),
    row('vulkan drivers', `${r.vulkanDrivers.length ? r.vulkanDrivers.join(', ') : 'none found in the usual folders'}`),
    row('matmul ceiling', `${c.gflopsPerSecond.toFixed(1)} GFLOP/s (best of ${c.shapes.map((s) => `${s.M}x${s.K}x${s.N}: ${s.gflopsPerSecond.toFixed(1)}`).join(', ')}; measured in ${(c.milliseconds / 1000).toFixed(1)} s)`),
    ...r.warnings.map((w) => row('warning', w)),
  ];
}
