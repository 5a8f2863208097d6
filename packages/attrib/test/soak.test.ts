import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareModel, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import { readInputFile, readModelFiles } from '@moxi/kernels/node';
import { readsAttention, type MethodName } from '../src/attribution.ts';
import { explainImages } from '../src/explain.ts';
import { testEngine } from './gpu.ts';

// Soak: many explanations in one process, mixed methods and the three bundled models, as a
// long `moxi evaluate` or a web page left open does. After the first round (every method
// on every model: pipelines compiled, pool size classes met) the pooled GPU bytes must not
// grow at all and host RSS only by allocator noise. SOAK_EXPLANATIONS=1000 gives the
// release figure (pnpm --filter @moxi/attrib soak); pnpm test runs a scaled-down 60.
const EXPLANATIONS = Number(process.env.SOAK_EXPLANATIONS ?? 60);
const REPO = join(import.meta.dirname, '..', '..', '..');
const EXAMPLES = join(REPO, 'examples', 'setsum');

// Every GPU path once per round: token, pixel and attention-capturing gradient passes, masked
// images (RISE), coalitions of 4 and 64 players. MoXI's full ranking on 64 players (2,080
// long rows) is left to the evaluate tests: it would take most of this test's time.
const PLAN: Array<{ model: string; methods: MethodName[] }> = [
  { model: 'setsum-vit', methods: ['moxi-insertion', 'moxi-deletion', 'shapley-exact', 'shapley-sampling', 'interaction-full', 'kernel-shap', 'gradcam', 'rollout', 'chefer', 'integrated-gradients'] },
  { model: 'setsum-resnet18', methods: ['moxi-insertion', 'shapley-full', 'shapley-sampling', 'gradcam', 'smoothgrad', 'rise'] },
  { model: 'setsum-vit-patch7', methods: ['shapley-self', 'interaction-self', 'lime', 'rise-players', 'rollout', 'chefer', 'input-x-gradient'] },
];
const ROUND = PLAN.reduce((n, p) => n + p.methods.length, 0);

describe('soak', () => {
  it(`${EXPLANATIONS} explanations: pooled GPU bytes flat after the first round, host memory bounded`, { timeout: 3_600_000 }, async () => {
    const engine = await testEngine();
    const models = new Map<string, ImageClassifier>();
    const grids = new Map<string, number | undefined>();
    const images: HostTensor[] = [];
    for (const { model } of PLAN) {
      const prepared = prepareModel(readModelFiles(join(REPO, 'models', model)));
      models.set(model, prepared.instantiate(engine));
      grids.set(model, prepared.info.declaredGrid);
      if (images.length === 0) {
        for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith('.png')).sort()) images.push(readInputFile(join(EXAMPLES, file), prepared.info.inputShape, prepared.preprocessing));
      }
    }
    const samples: Array<{ done: number; pooledBytes: number; rssBytes: number }> = [];
    let done = 0;
    try {
      while (done < EXPLANATIONS) {
        for (const { model, methods } of PLAN) {
          for (const method of methods) {
            if (done >= EXPLANATIONS) break;
            const image = images[done % images.length]!;
            // The players the folder declares (as the CLI), rollout on its token grid.
            const grid = readsAttention(method) ? undefined : grids.get(model);
            const [result] = await explainImages(models.get(model)!, [image], { method, game: grid === undefined ? {} : { grid }, options: { stop: 'full', samples: 8, maxEvaluations: 4096 } });
            expect(result!.attribution.scores.length).toBeGreaterThan(0);
            done += 1;
            if (done % ROUND === 0 || done === EXPLANATIONS) samples.push({ done, pooledBytes: engine.pool.bytesAllocated, rssBytes: process.memoryUsage().rss });
          }
        }
      }
    } finally {
      for (const m of models.values()) m.destroy();
    }
    const [warm, ...later] = samples;
    const last = samples.at(-1)!;
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    process.stdout.write(`soak: ${done} explanations; pooled GPU bytes ${samples.map((s) => mib(s.pooledBytes)).join(', ')} MiB; RSS ${samples.map((s) => mib(s.rssBytes)).join(', ')} MiB\n`);
    expect(later.length).toBeGreaterThan(0);
    // The pool reuses what the first round allocated: not one byte more afterwards.
    for (const s of later) expect(s.pooledBytes).toBe(warm!.pooledBytes);
    // Host memory: measured below; 64 MiB over the first round allows V8's heap to settle.
    expect(last.rssBytes - warm!.rssBytes).toBeLessThan(64 * 2 ** 20);
  });
});
