import type { Command } from 'commander';
import type { HostTensor, KernelTime } from '@moxi/kernels';
import { openGpuSession, prepareModelFromOptions } from '../model-session.ts';
import { parseChoice, parsePositiveInt, parsePositiveIntList } from '../option-parsers.ts';
import { log, ProgressBar, writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';

interface BenchOptions {
  model?: string;
  arch?: string;
  batch: string;
  precision: string;
  iterations: string;
  warmup: string;
  profile?: boolean;
  json?: boolean;
}

export interface BenchResult {
  batch: number;
  precision: 'f32';
  imagesPerSecond: number;
  gflopsPerSecond: number;
  msPerBatch: { median: number; min: number; max: number };
  iterations: number;
  kernels?: Array<{ label: string; count: number; milliseconds: number }>;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Deterministic input in the normalised range, so runs are comparable. */
function benchInput(batch: number, [C, H, W]: readonly [number, number, number]): HostTensor {
  const data = new Float32Array(batch * C * H * W);
  let state = 0x2545f491;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = (state / 2 ** 32) * 4 - 2;
  }
  return { shape: [batch, C, H, W], data };
}

export function registerBench(program: Command, run: CommandRunner): void {
  program
    .command('bench')
    .description('forward throughput (images/s, GFLOP/s) and per-kernel GPU times')
    .option('-m, --model <path>', 'model folder (timm or Hugging Face) or .safetensors file')
    .option('--arch <name>', 'timm architecture of a bare .safetensors file')
    .option('--batch <sizes>', 'batch sizes, comma separated', '1,8')
    .option('--precision <p>', 'compute precision (f32)', 'f32')
    .option('--iterations <n>', 'timed forward passes per batch size', '5')
    .option('--warmup <n>', 'untimed passes first (pipeline compilation)', '1')
    .option('--profile', 'also time each kernel with GPU timestamp queries (one extra pass)')
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (o: BenchOptions) => {
      const batches = parsePositiveIntList('--batch', o.batch);
      const precision = parseChoice('--precision', o.precision, ['f32'] as const);
      const iterations = parsePositiveInt('--iterations', o.iterations);
      const warmup = parsePositiveInt('--warmup', o.warmup);
      const prepared = prepareModelFromOptions(o);
      const session = await openGpuSession(prepared, { profile: false });
      const { model, engine, gpu } = session;
      try {
        const results: BenchResult[] = [];
        for (const batch of batches) {
          const input = benchInput(batch, model.inputShape);
          const bar = new ProgressBar(`batch ${batch}`, warmup + iterations);
          const times: number[] = [];
          for (let i = 0; i < warmup + iterations; i++) {
            const t0 = performance.now();
            await model.forward(input);
            if (i >= warmup) times.push(performance.now() - t0);
            bar.update(i + 1);
          }
          bar.done();
          const ms = median(times);
          const result: BenchResult = {
            batch,
            precision,
            imagesPerSecond: (batch * 1000) / ms,
            gflopsPerSecond: (model.flopsPerImage() * batch) / ms / 1e6,
            msPerBatch: { median: ms, min: Math.min(...times), max: Math.max(...times) },
            iterations,
          };
          if (o.profile) result.kernels = await profileOnce(engine, () => model.forward(input));
          results.push(result);
          log(`batch ${batch}: ${result.imagesPerSecond.toFixed(2)} images/s, ${result.gflopsPerSecond.toFixed(2)} GFLOP/s`);
        }
        const report = {
          device: { ...gpu.adapter, features: gpu.features, limits: gpu.limits },
          model: {
            location: prepared.info.location,
            architecture: prepared.info.architecture,
            parameters: prepared.info.parameters,
            gflopsPerImage: model.flopsPerImage() / 1e9,
          },
          results,
        };
        if (o.json) writeJson(report);
        else writeLines(formatReport(report.device.description || report.device.device || report.device.vendor, results));
      } finally {
        session.close();
      }
    }));
}

async function profileOnce(engine: import('@moxi/kernels').GpuEngine, forward: () => Promise<unknown>): Promise<KernelTime[] | undefined> {
  if (!engine.enableProfiling()) {
    log('--profile: this adapter has no timestamp-query feature; kernel times unavailable');
    return undefined;
  }
  engine.resetKernelTimes();
  await forward();
  return engine.kernelTimes();
}

function formatReport(device: string, results: BenchResult[]): string[] {
  const lines = [`device: ${device}`, 'batch  precision  images/s  GFLOP/s  ms/batch (min..max)'];
  for (const r of results) {
    lines.push(`${String(r.batch).padStart(5)}  ${r.precision.padEnd(9)}  ${r.imagesPerSecond.toFixed(2).padStart(8)}  ${r.gflopsPerSecond.toFixed(2).padStart(7)}  ${r.msPerBatch.median.toFixed(1)} (${r.msPerBatch.min.toFixed(1)}..${r.msPerBatch.max.toFixed(1)})`);
    for (const k of r.kernels ?? []) lines.push(`       ${k.label.padEnd(22)} ${String(k.count).padStart(4)}x ${k.milliseconds.toFixed(2).padStart(9)} ms`);
  }
  return lines;
}
