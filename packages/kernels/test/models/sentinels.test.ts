import { describe, expect, it } from 'vitest';
import { prepareModel } from '../../src/models/load-model.ts';
import { goldenInput, goldenModelFiles, resnetGoldenFolders, vitGoldenFolders } from '../../src/testing/index.ts';
import { testEngine } from '../helpers/gpu.ts';

// Sentinel tests (as ggml's test-backend-ops): with the engine's sentinel mode on, every
// tensor lives in its own buffer followed by guard words, so a kernel that writes past the
// end of its output, which pooled buffers (larger than their tensors) would hide, shows up.
// Every kernel of the forward and backward passes runs here through the golden models, on
// ragged shapes: odd token counts (17, 5 kept of 16), padded rows, pixel cells, f16 tensors
// of odd length, both attention paths, gradients of every layer.
const onesGradient = (_: Float32Array, rows: number, classes: number) => new Float32Array(rows * classes).fill(1 / classes);

describe('no kernel writes past its output', () => {
  // The two 224-pixel models add a minute and no kernel the small ones do not run.
  it.each(vitGoldenFolders().filter((f) => f.name !== 'vit-tiny').map((f) => ({ name: f.name, folder: f })))('ViT $name: every masking case, both attention paths, f16, gradients', async ({ folder }) => {
    const engine = await testEngine();
    const prepared = prepareModel(goldenModelFiles(folder));
    const models = [prepared.instantiate(engine), ...(engine.gpu.features.shaderF16 ? [prepared.instantiate(engine, { precision: 'f16' })] : [])];
    const before = engine.fusedAttention;
    engine.enableSentinels();
    try {
      for (const model of models) {
        for (const fused of [false, true]) {
          engine.fusedAttention = fused;
          for (const c of folder.cases) await model.forward(goldenInput(folder, c), c.mask ? { mask: c.mask } : {});
        }
      }
      await models[0]!.gradient(goldenInput(folder, folder.cases[0]!), onesGradient, { captureCam: true });
    } finally {
      engine.fusedAttention = before;
    }
    expect(await engine.checkSentinels()).toEqual([]);
    for (const m of models) m.destroy();
  });

  it.each(resnetGoldenFolders().filter((f) => f.name === 'resnet18-64px-10').map((f) => ({ name: f.name, folder: f })))('ResNet $name: every pixel-masking case and the gradient', async ({ folder }) => {
    const engine = await testEngine();
    const model = prepareModel(goldenModelFiles(folder)).instantiate(engine);
    engine.enableSentinels();
    for (const c of folder.cases) await model.forward(goldenInput(folder, c), c.mask ? { mask: c.mask } : {});
    await model.gradient(goldenInput(folder, folder.cases[0]!), onesGradient, { captureCam: true });
    expect(await engine.checkSentinels()).toEqual([]);
    model.destroy();
  });
});
