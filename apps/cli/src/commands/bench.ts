import type { Command } from 'commander';
import { largestForwardBatch, measureMatmulCeiling, type GpuEngine, type HostTensor, type ImageClassifier, type MatmulCeiling, type Precision } from '@moxi/kernels';
import { usageError } from '../cli-error.ts';
import { openGpuSession, parsePrecision, prepareModelFromOptions, PREPROCESS_HELP } from '../model-session.ts';
import { parseNonNegativeInt, parsePositiveInt, parsePositiveIntList } from '../option-parsers.ts';
import { log, ProgressBar, writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';

interface BenchOptions {
  model?: string;
  arch?: string;
  preprocess?: string;
  batch: string;
  precision?: string;
  iterations: string;
  warmup: string;
  profile?: boolean;
  json?: boolean;
}

export interface BenchResult {
  batch: number;
  precision: Precision;
  imagesPerSecond: number;
  gflopsPerSecond: number;
  /** gflopsPerSecond over the adapter's matmul ceiling (moxi doctor's calibration, measured in the same run). */
  shareOfCeiling: number;
  msPerBatch: { median: number; min: number; max: number };
  iterations: number;
  /** GPU time of each kernel in one forward pass of the whole batch (one profiled pass after the timed ones). */
  kernels?: KernelPerBatch[];
}

export interface KernelPerBatch {
  label: string;
  /** Dispatches of this kernel in one forward pass of the batch. */
  callsPerBatch: number;
  /** Their GPU time summed, in milliseconds: comparable with msPerBatch. */
  msPerBatch: number;
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
    .option('--preprocess <spec>', PREPROCESS_HELP)
    .option('--batch <sizes>', 'batch sizes, comma separated', '1,8')
    .option('--precision <list>', 'storage precisions to time, comma separated: f32, f16 (default: both on a ViT when the adapter has shader-f16, else f32)')
    .option('--iterations <n>', 'timed forward passes per batch size', '5')
    .option('--warmup <n>', 'untimed passes first (pipeline compilation); 0 times the first pass too', '1')
    .option('--profile', 'also time each kernel with GPU timestamp queries: GPU ms per batch, from one extra pass')
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (o: BenchOptions) => {
      const batches = parsePositiveIntList('--batch', o.batch);
      const iterations = parsePositiveInt('--iterations', o.iterations);
      const warmup = parseNonNegativeInt('--warmup', o.warmup);
      const prepared = prepareModelFromOptions(o);
      const asked = o.precision?.split(',').map((p) => parsePrecision(p.trim(), prepared));
      const session = await openGpuSession(prepared, { profile: false });
      const { model, engine, gpu } = session;
      const precisions: Precision[] = asked ?? (prepared.info.family === 'vit' && gpu.features.shaderF16 ? ['f32', 'f16'] : ['f32']);
      try {
        // Refused before any pass: past this the device fails mid-run with validation errors.
        const fit = largestForwardBatch(model, gpu.limits);
        const tooLarge = batches.find((b) => b > fit.images);
        if (tooLarge !== undefined) {
          throw usageError(
            '--batch',
            `${tooLarge} images of ${model.inputShape.join('x')} need a ${formatBytes(tooLarge * fit.bytesPerImage)} input buffer, over this device's ${fit.limitName} (${formatBytes(fit.limitBytes)}); ` +
              `the largest batch that fits is ${fit.images}`,
          );
        }
        const ceiling = await measureMatmulCeiling(engine);
        log(`matmul ceiling of this adapter: ${ceiling.gflopsPerSecond.toFixed(1)} GFLOP/s`);
        const results: BenchResult[] = [];
        for (const precision of precisions) {
          const timed: ImageClassifier = precision === 'f32' ? model : prepared.instantiate(engine, { precision });
          try {
            results.push(...(await benchBatches(timed, engine, { batches, precision, warmup, iterations, ceiling, profile: o.profile === true })));
          } finally {
            if (timed !== model) timed.destroy();
          }
        }
        const report = {
          device: { ...gpu.adapter, features: gpu.features, limits: gpu.limits },
          model: {
            location: prepared.info.location,
            architecture: prepared.info.architecture,
            parameters: prepared.info.parameters,
            gflopsPerImage: model.flopsPerImage() / 1e9,
          },
          matmulCeiling: ceiling,
          results,
        };
        if (o.json) writeJson(report);
        else writeLines(formatReport(report.device.description || report.device.device || report.device.vendor, ceiling, results));
      } finally {
        session.close();
      }
    }));
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

interface BenchPlan {
  batches: number[];
  precision: Precision;
  warmup: number;
  iterations: number;
  ceiling: MatmulCeiling;
  profile: boolean;
}

/** Times one model at every batch size: warm-up passes, then the median of the timed ones. */
async function benchBatches(model: ImageClassifier, engine: GpuEngine, plan: BenchPlan): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const batch of plan.batches) {
    const input = benchInput(batch, model.inputShape);
    const bar = new ProgressBar(`${plan.precision} batch ${batch}`, plan.warmup + plan.iterations);
    const times: number[] = [];
    for (let i = 0; i < plan.warmup + plan.iterations; i++) {
      const t0 = performance.now();
      await model.forward(input);
      if (i >= plan.warmup) times.push(performance.now() - t0);
      bar.update(i + 1);
    }
    bar.done();
    const ms = median(times);
    const gflopsPerSecond = (model.flopsPerImage() * batch) / ms / 1e6;
    const result: BenchResult = {
      batch,
      precision: plan.precision,
      imagesPerSecond: (batch * 1000) / ms,
      gflopsPerSecond,
      shareOfCeiling: gflopsPerSecond / plan.ceiling.gflopsPerSecond,
      msPerBatch: { median: ms, min: Math.min(...times), max: Math.max(...times) },
      iterations: plan.iterations,
    };
    if (plan.profile) result.kernels = await profileOnce(engine, () => model.forward(input));
    results.push(result);
    log(`${plan.precision} batch ${batch}: ${result.imagesPerSecond.toFixed(2)} images/s, ${result.gflopsPerSecond.toFixed(2)} GFLOP/s`);
  }
  return results;
}

/**
 * One forward pass with every dispatch timed, then profiling off again: the timed passes
 * of later batch sizes must not pay for it, nor their kernels count here.
 */
async function profileOnce(engine: GpuEngine, forward: () => Promise<unknown>): Promise<KernelPerBatch[] | undefined> {
  if (!engine.enableProfiling()) {
    log('--profile: this adapter has no timestamp-query feature; kernel times unavailable');
    return undefined;
  }
  try {
    engine.resetKernelTimes();
    await forward();
    return (await engine.kernelTimes()).map((k) => ({ label: k.label, callsPerBatch: k.count, msPerBatch: k.milliseconds }));
  } finally {
    engine.disableProfiling();
  }
}

function formatReport(device: string, ceiling: MatmulCeiling, results: BenchResult[]): string[] {
  const lines = [`device: ${device}; matmul ceiling ${ceiling.gflopsPerSecond.toFixed(1)} GFLOP/s (moxi doctor)`, 'batch  precision  images/s  GFLOP/s  of ceiling  ms/batch (min..max)'];
  for (const r of results) {
    lines.push(
      `${String(r.batch).padStart(5)}  ${r.precision.padEnd(9)}  ${r.imagesPerSecond.toFixed(2).padStart(8)}  ${r.gflopsPerSecond.toFixed(2).padStart(7)}  ${`${(100 * r.shareOfCeiling).toFixed(0)}%`.padStart(10)}  ${r.msPerBatch.median.toFixed(1)} (${r.msPerBatch.min.toFixed(1)}..${r.msPerBatch.max.toFixed(1)})`,
    );
    if (!r.kernels) continue;
    lines.push(`       ${'kernel'.padEnd(22)} ${'calls/batch'.padStart(11)} ${'GPU ms/batch'.padStart(12)}`);
    for (const k of r.kernels) lines.push(`       ${k.label.padEnd(22)} ${String(k.callsPerBatch).padStart(11)} ${k.msPerBatch.toFixed(2).padStart(12)}`);
    const total = r.kernels.reduce((a, k) => a + k.msPerBatch, 0);
    lines.push(`       ${'all kernels'.padEnd(22)} ${''.padStart(11)} ${total.toFixed(2).padStart(12)}  (one profiled pass of ${r.batch} image${r.batch > 1 ? 's' : ''}; wall clock ${r.msPerBatch.median.toFixed(1)} ms/batch above)`);
  }
  return lines;
}
