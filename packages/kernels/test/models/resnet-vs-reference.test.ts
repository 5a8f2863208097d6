import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/host-tensor.ts';
import { OptionError } from '../../src/io/input-error.ts';
import { ResNet } from '../../src/models/resnet.ts';
import type { ResNetConfig } from '../../src/models/resnet-config.ts';
import { HF_RESNET_NAMES, resnetWeights, type ConvNames } from '../../src/models/resnet-weights.ts';
import { resnetReferenceForward } from '../../src/reference/resnet.ts';
import { deterministicTensor } from '../../src/testing/index.ts';
import { maxAbs, maxAbsDiff, testEngine } from '../helpers/gpu.ts';
import { mapSource } from '../helpers/tensor-source.ts';

// Small ResNets with widths that are not multiples of 4 (the GPU pads them with zero
// filters) against the unfolded TS reference. 1e-4 absolute on logits of magnitude ~1.

/** Random weights in Hugging Face names for any ResNet shape (BatchNorm stats included). */
function randomWeights(c: ResNetConfig): Map<string, HostTensor> {
  const w = new Map<string, HostTensor>();
  let seed = 0;
  const convBn = (n: ConvNames, out: number, inC: number, k: number) => {
    seed += 1;
    w.set(`${n.conv}.weight`, deterministicTensor(n.conv, [out, inC, k, k], seed, Math.sqrt(3 / (inC * k * k))));
    w.set(`${n.norm}.weight`, deterministicTensor(`${n.norm}.w`, [out], seed, 0.2, 1));
    w.set(`${n.norm}.bias`, deterministicTensor(`${n.norm}.b`, [out], seed, 0.1));
    w.set(`${n.norm}.running_mean`, deterministicTensor(`${n.norm}.m`, [out], seed, 0.1));
    w.set(`${n.norm}.running_var`, deterministicTensor(`${n.norm}.v`, [out], seed, 0.5, 1));
  };
  const names = HF_RESNET_NAMES;
  convBn(names.stem, c.stemWidth, c.inChans, 7);
  let channels = c.stemWidth;
  c.depths.forEach((depth, s) => {
    const width = c.widths[s]!;
    for (let b = 0; b < depth; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      if (c.block === 'basic') {
        convBn(names.branch(s, b, 0), width, channels, 3);
        convBn(names.branch(s, b, 1), width, width, 3);
      } else {
        const mid = width / 4;
        convBn(names.branch(s, b, 0), mid, channels, 1);
        convBn(names.branch(s, b, 1), mid, mid, 3);
        convBn(names.branch(s, b, 2), width, mid, 1);
      }
      if (stride !== 1 || channels !== width) convBn(names.shortcut(s, b), width, channels, 1);
      channels = width;
    }
  });
  w.set(`${names.fc}.weight`, deterministicTensor('fc.w', [c.numClasses, channels], 1, Math.sqrt(3 / channels)));
  w.set(`${names.fc}.bias`, deterministicTensor('fc.b', [c.numClasses], 1, 0.1));
  return w;
}

const base = { source: 'huggingface', name: 'test', inChans: 3, numClasses: 7, imgSize: [40, 40], eps: 1e-5 } as const;
const configs: Array<{ label: string; config: ResNetConfig }> = [
  { label: 'basic blocks, widths 5-9-13-7, stem 6', config: { ...base, imgSize: [40, 40], block: 'basic', depths: [1, 2, 1, 1], widths: [5, 9, 13, 7], stemWidth: 6 } },
  { label: 'bottlenecks, widths 8-12-20-28, stem 10, 2 channels', config: { ...base, inChans: 2, imgSize: [48, 32], block: 'bottleneck', depths: [2, 1, 1, 1], widths: [8, 12, 20, 28], stemWidth: 10 } },
];

describe.each(configs)('ResNet $label', ({ config }) => {
  it.each([
    { label: 'unmasked' },
    { label: 'pixel masked on a 4x4 grid', mask: { mode: 'pixel' as const, grid: [4, 4] as [number, number], keep: [[0, 3, 5, 15], [1, 2, 8]] } },
  ])('$label matches the unfolded reference (1e-4)', async ({ mask }) => {
    const weights = randomWeights(config);
    const [H, W] = config.imgSize;
    const images = deterministicTensor('images', [2, config.inChans, H, W], 4, 1.5);
    const model = new ResNet(await testEngine(), config, resnetWeights(config, mapSource(weights), HF_RESNET_NAMES));
    const result = await model.forward(images, mask ? { mask } : {});
    model.destroy();
    const input = Float32Array.from(images.data);
    if (mask) {
      const per = config.inChans * H * W;
      for (let r = 0; r < 2; r++)
        for (let i = 0; i < per; i++) {
          const y = Math.floor((i % (H * W)) / W);
          const x = i % W;
          const cell = Math.floor(y / (H / 4)) * 4 + Math.floor(x / (W / 4));
          if (!mask.keep[r]!.includes(cell)) input[r * per + i] = 0;
        }
    }
    for (let r = 0; r < 2; r++) {
      const expected = resnetReferenceForward(config, weights, HF_RESNET_NAMES, { shape: images.shape, data: input }, r);
      expect(maxAbs(expected)).toBeGreaterThan(0.1);
      expect(maxAbsDiff(result.logits.subarray(r * 7, (r + 1) * 7), expected)).toBeLessThan(1e-4);
    }
  });
});

describe('ResNet refuses masks it cannot apply with an OptionError in library terms', () => {
  const { config } = configs[0]!;
  it.each([
    { label: 'token masking', mask: { mode: 'token' as const, keep: [[0, 1]] }, option: 'maskMode', message: 'maskMode: token masking needs a ViT; a ResNet hides patches in pixel space (use pixel masking)' },
    { label: 'attention masking', mask: { mode: 'attention' as const, keep: [[0, 1]], fromLayer: 0 }, option: 'maskMode', message: 'maskMode: attention masking needs a ViT; a ResNet hides patches in pixel space (use pixel masking)' },
    { label: 'a 3x3 pixel grid on 40x40', mask: { mode: 'pixel' as const, keep: [[0, 1]], grid: [3, 3] as [number, number] }, option: 'grid', message: 'grid: 3x3 does not divide the 40x40 input into equal cells (choose a divisor of 40 and 40)' },
  ])('$label', async ({ mask, option, message }) => {
    const [H, W] = config.imgSize;
    const model = new ResNet(await testEngine(), config, resnetWeights(config, mapSource(randomWeights(config)), HF_RESNET_NAMES));
    try {
      const error = await model.forward(deterministicTensor('images', [1, config.inChans, H, W], 4, 1.5), { mask }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OptionError);
      expect((error as OptionError).option).toBe(option);
      expect((error as OptionError).message).toBe(message);
      expect((error as OptionError).message).not.toContain('--');
    } finally {
      model.destroy();
    }
  });
});
