import type { GpuEngine } from '../gpu/engine.ts';
import { gemm } from './matmul.ts';

export interface MatmulCeiling {
  /** The best GFLOP/s any calibration shape reached: what whole-model figures are a share of. */
  gflopsPerSecond: number;
  /** Each shape's best GFLOP/s. */
  shapes: Array<{ M: number; K: number; N: number; gflopsPerSecond: number }>;
  /** Wall time the calibration took. */
  milliseconds: number;
}

/**
 * The matmul kernels' ceiling on this adapter: the shapes of a ViT's linear layers at batch
 * 8 (qkv, fc1, fc2 of ViT-Tiny) and one square product, each timed a few times after a
 * warm-up pass, best run kept; each pass is timed from its dispatch to the queue's
 * completion.
 */
export async function measureMatmulCeiling(engine: GpuEngine, { repeats = 5 } = {}): Promise<MatmulCeiling> {
  const started = performance.now();
  const shapes = [
    { M: 1576, K: 192, N: 576 },
    { M: 1576, K: 192, N: 768 },
    { M: 1576, K: 768, N: 192 },
    { M: 512, K: 512, N: 512 },
  ];
  const results: MatmulCeiling['shapes'] = [];
  for (const { M, K, N } of shapes) {
    const a = engine.upload(filled(M * K), [M, K]);
    const b = engine.upload(filled(K * N), [K, N]);
    let best = 0;
    for (let r = 0; r <= repeats; r++) {
      const out = engine.empty([M, N]);
      const t0 = performance.now();
      gemm(engine, { M, K, N, a, lda: K, b, ldbK: N, ldbN: 1, out, ldc: N, label: 'calibration' });
      await engine.finish();
      const ms = performance.now() - t0;
      engine.release(out);
      // Pass 0 compiles the pipeline and warms the pool; it is not timed.
      if (r > 0) best = Math.max(best, (2 * M * K * N) / ms / 1e6);
    }
    engine.release(a, b);
    results.push({ M, K, N, gflopsPerSecond: best });
  }
  return { gflopsPerSecond: Math.max(...results.map((s) => s.gflopsPerSecond)), shapes: results, milliseconds: performance.now() - started };
}

function filled(n: number): Float32Array {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return data;
}
