import { describe, expect, it } from 'vitest';
import type { PatchMask } from '../../src/models/patch-mask.ts';
import { VisionTransformer } from '../../src/models/vit.ts';
import { vitConfigFromTimm } from '../../src/models/vit-config.ts';
import { vitWeightsFromTimm } from '../../src/models/vit-weights.ts';
import { vitReferenceForward } from '../../src/reference/vit.ts';
import { deterministicTensor, deterministicVitWeights, type DeterministicVitConfig } from '../../src/testing/index.ts';
import { maxAbs, maxAbsDiff, testEngine } from '../helpers/gpu.ts';
import { mapSource } from '../helpers/tensor-source.ts';

// GPU forward vs the plain TypeScript reference (float64 accumulation) on small random
// ViTs. Tolerance 1e-4 absolute on logits of magnitude ~1: f32 accumulation over <= 4
// blocks stays two orders below it, while any indexing or masking error is O(0.1).
const TOLERANCE = 1e-4;

const variants: Array<{ name: string; model: DeterministicVitConfig; timm: Record<string, unknown> }> = [
  {
    name: 'class token, 16 patches',
    model: { imgSize: 32, patchSize: 8, inChans: 3, embedDim: 48, depth: 3, numHeads: 3, mlpRatio: 4, numClasses: 10, qkvBias: true },
    timm: { architecture: 'vit_tiny_patch16_224', model_args: { img_size: 32, patch_size: 8, embed_dim: 48, depth: 3, num_heads: 3, num_classes: 10 } },
  },
  {
    name: 'avg pool, fc_norm, layer scale, 1 channel, no_embed_class',
    model: { imgSize: 16, patchSize: 4, inChans: 1, embedDim: 32, depth: 2, numHeads: 2, mlpRatio: 2, numClasses: 7, qkvBias: false, globalPool: 'avg', initValues: 0.1, noEmbedClass: true },
    timm: { architecture: 'vit_small_patch16_224', model_args: { img_size: 16, patch_size: 4, in_chans: 1, embed_dim: 32, depth: 2, num_heads: 2, mlp_ratio: 2, num_classes: 7, qkv_bias: false, global_pool: 'avg', init_values: 0.1, no_embed_class: true } },
  },
  {
    name: 'DeiT distilled',
    model: { imgSize: 24, patchSize: 8, inChans: 3, embedDim: 24, depth: 2, numHeads: 2, mlpRatio: 4, numClasses: 5, qkvBias: true, distilled: true },
    timm: { architecture: 'deit_tiny_distilled_patch16_224', model_args: { img_size: 24, patch_size: 8, embed_dim: 24, depth: 2, num_heads: 2, num_classes: 5 } },
  },
];

function maskCases(players: number): Array<{ name: string; mask?: PatchMask }> {
  const a = [0, 3, players - 1];
  const b = [1, 2, 5];
  const ragged = [[2], Array.from({ length: players }, (_, i) => i).filter((i) => i % 2 === 0)];
  return [
    { name: 'no mask' },
    { name: 'token, equal lengths', mask: { mode: 'token', keep: [a, b] } },
    { name: 'token, ragged', mask: { mode: 'token', keep: ragged } },
    { name: 'token, empty keep', mask: { mode: 'token', keep: [[], []] } },
    { name: 'attention from 0', mask: { mode: 'attention', keep: [a, b], fromLayer: 0 } },
    { name: 'attention from 1', mask: { mode: 'attention', keep: [a, ragged[1]!], fromLayer: 1 } },
  ];
}

describe.each(variants)('ViT $name', ({ model, timm }) => {
  const config = vitConfigFromTimm(timm, 'config.json');
  const weights = vitWeightsFromTimm(config, mapSource(deterministicVitWeights(model, 7)));
  const images = deterministicTensor('input', [2, model.inChans, model.imgSize, model.imgSize], 3, 1.5);
  const players = (model.imgSize / model.patchSize) ** 2;

  it.each(maskCases(players))('$name matches the TS reference', async ({ mask }) => {
    const engine = await testEngine();
    const vit = new VisionTransformer(engine, config, vitWeightsFromTimm(config, mapSource(deterministicVitWeights(model, 7))));
    const result = await vit.forward(images, mask ? { mask } : {});
    vit.destroy();
    const expected = new Float32Array(2 * config.numClasses);
    for (let r = 0; r < 2; r++) {
      const keep = mask?.keep[r];
      const m = mask && keep ? { mode: mask.mode, keep, ...(mask.mode === 'attention' ? { fromLayer: mask.fromLayer } : {}) } : undefined;
      expected.set(vitReferenceForward(config, weights, images, r, m), r * config.numClasses);
    }
    expect(maxAbs(expected)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(result.logits, expected)).toBeLessThan(TOLERANCE);
  });
});

describe('attention capture', () => {
  const { model, timm } = variants[0]!;
  const config = vitConfigFromTimm(timm, 'config.json');
  const images = deterministicTensor('input', [2, 3, 32, 32], 3, 1.5);

  it.each<{ name: string; mask?: PatchMask }>([
    { name: 'no mask' },
    { name: 'attention mask from block 1', mask: { mode: 'attention', keep: [[0, 5, 6], [1, 2, 3, 4, 9]], fromLayer: 1 } },
  ])('returns every block\'s probabilities, $name (1e-5)', async ({ mask }) => {
    const weights = vitWeightsFromTimm(config, mapSource(deterministicVitWeights(model, 7)));
    const vit = new VisionTransformer(await testEngine(), config, weights);
    const result = await vit.forward(images, { captureAttention: true, ...(mask ? { mask } : {}) });
    vit.destroy();
    expect(result.attention).toHaveLength(config.depth);
    const T = 17;
    const perRow = config.numHeads * T * T;
    for (let r = 0; r < 2; r++) {
      const probs: Float32Array[] = [];
      const m = mask?.mode === 'attention' ? { mode: mask.mode, keep: mask.keep[r]!, fromLayer: mask.fromLayer } : undefined;
      const logits = vitReferenceForward(config, weights, images, r, m, probs);
      expect(maxAbsDiff(result.logits.subarray(r * 10, (r + 1) * 10), logits)).toBeLessThan(TOLERANCE);
      expect(probs).toHaveLength(config.depth);
      probs.forEach((p, block) => {
        expect(maxAbsDiff(result.attention![block]!.subarray(r * perRow, (r + 1) * perRow), p)).toBeLessThan(1e-5);
      });
    }
  });
});

describe('pixel masking on a ViT', () => {
  const { model, timm } = variants[0]!;
  const config = vitConfigFromTimm(timm, 'config.json');
  const images = deterministicTensor('input', [2, 3, 32, 32], 3, 1.5);

  it.each<{ grid: [number, number]; keep: number[][] }>([
    { grid: [4, 4], keep: [[0, 5, 10, 15], [1, 2, 3]] },
    { grid: [2, 8], keep: [[], [0, 7, 8, 15]] },
  ])('grid $grid equals the unmasked model on zero-filled images (1e-4)', async ({ grid, keep }) => {
    const weights = vitWeightsFromTimm(config, mapSource(deterministicVitWeights(model, 7)));
    const vit = new VisionTransformer(await testEngine(), config, weights);
    const result = await vit.forward(images, { mask: { mode: 'pixel', grid, keep } });
    vit.destroy();
    const [gh, gw] = grid;
    const masked = Float32Array.from(images.data);
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 32; y++)
          for (let x = 0; x < 32; x++) {
            const cell = Math.floor(y / (32 / gh)) * gw + Math.floor(x / (32 / gw));
            if (!keep[r]!.includes(cell)) masked[((r * 3 + c) * 32 + y) * 32 + x] = 0;
          }
    for (let r = 0; r < 2; r++) {
      const expected = vitReferenceForward(config, weights, { shape: images.shape, data: masked }, r);
      expect(maxAbsDiff(result.logits.subarray(r * 10, (r + 1) * 10), expected)).toBeLessThan(TOLERANCE);
    }
  });
});

describe('prepared input', () => {
  it('reuses the patch embeddings across passes and gives the unprepared logits (exact)', async () => {
    const { model, timm } = variants[0]!;
    const config = vitConfigFromTimm(timm, 'config.json');
    const vit = new VisionTransformer(await testEngine(), config, vitWeightsFromTimm(config, mapSource(deterministicVitWeights(model, 7))));
    const image = deterministicTensor('one image', [1, 3, 32, 32], 3, 1.5);
    const prepared = vit.prepare(image);
    const masks: PatchMask[] = [
      { mode: 'token', keep: [[0, 1], [2], [3, 4, 5]] },
      { mode: 'attention', keep: [[0, 1], [9]], fromLayer: 1 },
      { mode: 'pixel', keep: [[0], [1, 2]], grid: [2, 2] },
    ];
    for (const mask of masks) {
      const fromPrepared = await vit.forward(prepared, { mask });
      const fresh = await vit.forward(image, { mask });
      expect(Array.from(fromPrepared.logits)).toEqual(Array.from(fresh.logits));
    }
    prepared.release();
    vit.destroy();
  });
});

describe('input gradient of every ViT variant', () => {
  // Directional derivative check on the GPU forward itself: <dz/dx, u> against
  // (z(x + h u) - z(x - h u)) / 2h with h = 1e-2; float32 noise over h and the h^2 term
  // stay below 2e-3 of the derivative. Covers the avg-pool, LayerScale and two-head paths
  // the PyTorch gradient goldens do not.
  it.each(variants)('$name', async ({ model, timm }) => {
    const config = vitConfigFromTimm(timm, 'config.json');
    const vit = new VisionTransformer(await testEngine(), config, vitWeightsFromTimm(config, mapSource(deterministicVitWeights(model, 7))));
    const shape = [2, model.inChans, model.imgSize, model.imgSize];
    const x = deterministicTensor('input', shape, 3, 1.5);
    const u = deterministicTensor('direction', shape, 4, 1);
    const classes = [1, 3];
    const { inputGradient } = await vit.gradient(x, (_, rows, C) => {
      const g = new Float32Array(rows * C);
      classes.forEach((y, r) => (g[r * C + y] = 1));
      return g;
    });
    const h = 1e-2;
    const shifted = async (sign: number) => (await vit.forward({ shape, data: x.data.map((v, i) => v + sign * h * u.data[i]!) })).logits;
    const [up, down] = [await shifted(1), await shifted(-1)];
    vit.destroy();
    const C = config.numClasses;
    const fd = classes.reduce((s, y, r) => s + (up[r * C + y]! - down[r * C + y]!) / (2 * h), 0);
    const analytic = inputGradient.reduce((s, g, i) => s + g * u.data[i]!, 0);
    expect(Math.abs(analytic)).toBeGreaterThan(0.05);
    expect(Math.abs(analytic - fd) / Math.abs(analytic)).toBeLessThan(2e-3);
  });
});
