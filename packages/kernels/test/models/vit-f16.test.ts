import { describe, expect, it } from 'vitest';
import { OptionError } from '../../src/io/input-error.ts';
import { prepareModel } from '../../src/models/load-model.ts';
import { goldenInput, goldenLogits, goldenModelFiles, resnetGoldenFolders, vitGoldenFolders } from '../../src/testing/index.ts';
import { maxAbsDiff, testEngine } from '../helpers/gpu.ts';

// Half precision: weights and activations stored as f16, every sum in f32. Against the
// PyTorch float64 goldens the error is what rounding each stored value to 11 significant
// bits gives (2^-11 = 4.9e-4 relative per value, compounded over the blocks): measured
// 1.1e-3 to 5.0e-3 on these fixtures (the most, 4.97e-3, on ViT-Tiny's 12 blocks), f32
// 2e-7 to 3e-6. Held to 1.5e-2, 3x the worst: a kernel reading f16 as f32 (or the
// reverse) gives garbage of order 1e3 or NaN, a weight left unconverted errors of order 1.
const TOLERANCE = 1.5e-2;

describe.each(vitGoldenFolders())('f16 ViT $name', (folder) => {
  const prepared = prepareModel(goldenModelFiles(folder));
  // it.for, not it.each: the test context comes second, so an adapter without shader-f16
  // reports the case skipped, with the reason, rather than passed.
  it.for(folder.cases.filter((c) => !c.name.startsWith('capture')))('$name: logits within the f16 tolerance, top-1 as f32 up to near-ties', async (c, ctx) => {
    const engine = await testEngine();
    if (!engine.gpu.features.shaderF16) ctx.skip('the adapter lacks shader-f16 (lavapipe has it)');
    const half = prepared.instantiate(engine, { precision: 'f16' });
    const full = prepared.instantiate(engine);
    try {
      const request = c.mask ? { mask: c.mask } : {};
      const h = await half.forward(goldenInput(folder, c), request);
      const f = await full.forward(goldenInput(folder, c), request);
      const expected = goldenLogits(folder, c).data;
      const error = maxAbsDiff(h.logits, expected);
      expect(error).toBeLessThan(TOLERANCE);
      // These weights are random: over ViT-Tiny's 1000 classes the top two logits can lie
      // closer than f16's error, so f16 may pick the other of a near-tie, never a class
      // whose f32 logit is further than twice the tolerance below the f32 maximum. (The
      // bundled trained models must agree exactly: see attrib's precision test.)
      for (let r = 0; r < h.rows; r++) {
        const row = (z: Float32Array) => Array.from(z.subarray(r * h.classes, (r + 1) * h.classes));
        const f32Row = row(f.logits);
        const halfRow = row(h.logits);
        const pick = halfRow.indexOf(Math.max(...halfRow));
        expect(Math.max(...f32Row) - f32Row[pick]!).toBeLessThan(2 * TOLERANCE);
      }
    } finally {
      half.destroy();
      full.destroy();
    }
  });
});

describe('f16 refusals', () => {
  it('a ResNet and gradients stay f32, each refused with the option named', async () => {
    const engine = await testEngine();
    const resnet = prepareModel(goldenModelFiles(resnetGoldenFolders()[0]!));
    expect(() => resnet.instantiate(engine, { precision: 'f16' })).toThrow(OptionError);
    const vitFolder = vitGoldenFolders()[0]!;
    const vit = prepareModel(goldenModelFiles(vitFolder)).instantiate(engine, { precision: 'f16' });
    try {
      await expect(vit.gradient(goldenInput(vitFolder, vitFolder.cases[0]!), () => new Float32Array(0))).rejects.toMatchObject({ option: 'precision' });
    } finally {
      vit.destroy();
    }
  });
});
