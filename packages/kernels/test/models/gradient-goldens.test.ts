import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/io/npy.ts';
import { prepareModel } from '../../src/models/load-model.ts';
import { goldenInput, goldenModelFiles, resnetGoldenFolders, vitGoldenFolders } from '../../src/testing/index.ts';
import { maxAbs, maxAbsDiff, testEngine } from '../helpers/gpu.ts';

// d z_y / d input against PyTorch's autograd in float64 (tools/fixtures/make_gradient_goldens.py):
// within 1e-3 of the gradient's largest magnitude, as the issue asks (float32 sits ~1e-5 below).
const root = new URL('../fixtures/gradients/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('cases.json', root), 'utf8')) as {
  cases: Array<{ name: string; model: string; classes: number[]; gradient: string; logits: string }>;
};
const npy = (file: string) => parseNpy(new Uint8Array(readFileSync(new URL(file, root))), file);

describe.each(manifest.cases)('input gradient $name', (c) => {
  it('matches PyTorch within 1e-3 of its largest magnitude, logits within 1e-4', async () => {
    const [family, name] = c.model.split('/');
    const folder = (family === 'vit' ? vitGoldenFolders() : resnetGoldenFolders()).find((f) => f.name === name)!;
    const model = prepareModel(goldenModelFiles(folder)).instantiate(await testEngine());
    const images = goldenInput(folder, folder.cases[0]!);
    const result = await model.gradient(images, (logits, rows, classes) => {
      const g = new Float32Array(rows * classes);
      c.classes.forEach((y, r) => (g[r * classes + y] = 1));
      expect(logits.length).toBe(rows * classes);
      return g;
    });
    model.destroy();
    const expected = npy(c.gradient).data;
    expect(maxAbsDiff(result.logits, npy(c.logits).data)).toBeLessThan(1e-4);
    expect(maxAbsDiff(result.inputGradient, expected) / maxAbs(expected)).toBeLessThan(1e-3);
  });
});

describe('gradient passes free what they allocate', () => {
  it.each([
    ['vit/small-timm', { captureCam: true }],
    ['vit/small-timm', { captureAttention: true }],
    ['resnet/resnet18-64px-10', { captureCam: true }],
  ] as const)('%s %o: a second pass allocates nothing new', async (path, options) => {
    const [family, name] = path.split('/');
    const folder = (family === 'vit' ? vitGoldenFolders() : resnetGoldenFolders()).find((f) => f.name === name)!;
    const engine = await testEngine();
    const model = prepareModel(goldenModelFiles(folder)).instantiate(engine);
    const images = goldenInput(folder, folder.cases[0]!);
    const pass = () => model.gradient(images, (_, rows, classes) => new Float32Array(rows * classes).fill(1), options);
    await pass();
    await engine.finish();
    const after = engine.pool.bytesAllocated;
    await pass();
    await engine.finish();
    expect(engine.pool.bytesAllocated).toBe(after);
    model.destroy();
  });
});
