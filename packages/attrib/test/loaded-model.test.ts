import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, prepareModel } from '@moxi/kernels';
import { readInputFile, readModelFiles } from '@moxi/kernels/node';
import { explainImages } from '../src/explain.ts';
import { loadModel } from '../src/loaded-model.ts';
import { testEngine } from './gpu.ts';

// The embedders' call (loadModel, then explain / classify) gives what the pieces underneath
// give for the same model and image: the bundled SET-SUM ViT on a bundled test image.
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const folder = join(repo, 'models', 'setsum-vit');
const image = join(repo, 'examples', 'setsum', '000008.png');
const scratch = mkdtempSync(join(tmpdir(), 'moxi-loaded-model-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function reference() {
  const prepared = prepareModel(readModelFiles(folder));
  return { prepared, input: readInputFile(image, prepared.info.inputShape, prepared.preprocessing) };
}

describe('loadModel', () => {
  it('explains an image path exactly as explainImages does on the preprocessed tensor (tolerance 0)', async () => {
    const engine = await testEngine();
    const loaded = await loadModel(folder, { engine });
    const { prepared, input } = reference();
    const direct = prepared.instantiate(engine);
    try {
      const spec = { method: 'moxi-insertion' as const, game: {}, options: { stop: 'correct' as const } };
      const progress: number[] = [];
      const explanation = await loaded.explain(image, { options: { stop: 'correct' } }, { onProgress: (n) => progress.push(n) });
      const [expected] = await explainImages(direct, [input], spec);
      expect(explanation.attribution.method).toBe('moxi-insertion');
      expect(explanation.attribution.order).toEqual(expected!.attribution.order);
      expect(explanation.attribution.scores).toEqual(expected!.attribution.scores);
      expect(explanation.attribution.stopStep).toBe(expected!.attribution.stopStep);
      // The demo image (9 1 / 3 9): one copy of each distinct digit, then the answer is right.
      expect(explanation.attribution.order!.slice(0, explanation.attribution.stopStep)).toEqual([3, 1, 2]);
      expect(explanation.predicted).toBe(expected!.predicted);
      expect(explanation.predicted).toBe(13);
      expect(progress.at(-1)).toBe(explanation.attribution.evaluations);
    } finally {
      loaded.destroy();
      direct.destroy();
    }
  });

  it('classifies: the forward pass\'s logits and the top classes with the folder\'s labels', async () => {
    const engine = await testEngine();
    const loaded = await loadModel(folder, { engine });
    const { input } = reference();
    try {
      const { logits, top } = await loaded.classify(image, 3);
      const forward = await loaded.model.forward(input);
      expect(logits).toEqual(forward.logits.slice(0, forward.classes));
      expect(top.map((c) => c.index)).toEqual([...logits.keys()].sort((a, b) => logits[b]! - logits[a]!).slice(0, 3));
      expect(top[0]).toMatchObject({ index: 13, label: '13' });
      expect(top[0]!.probability).toBeGreaterThan(top[1]!.probability);
    } finally {
      loaded.destroy();
    }
  });

  it('runs any method named in the request (rollout here) and refuses to run once destroyed', async () => {
    const loaded = await loadModel(folder, { engine: await testEngine() });
    const rollout = await loaded.explain(image, { method: 'rollout' });
    expect(rollout.attribution.method).toBe('rollout');
    expect(rollout.attribution.scores).toHaveLength(4);
    loaded.destroy();
    await expect(loaded.explain(image)).rejects.toThrow(/setsum-vit was destroyed; load it again/);
  });

  it('a truncated weights file is refused with its path, before any GPU work', async () => {
    const broken = join(scratch, 'truncated');
    mkdirSync(broken);
    writeFileSync(join(broken, 'config.json'), readFileSync(join(folder, 'config.json')));
    writeFileSync(join(broken, 'model.safetensors'), readFileSync(join(folder, 'model.safetensors')).subarray(0, 5000));
    const error = await loadModel(broken).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain(join(broken, 'model.safetensors'));
  });
});
