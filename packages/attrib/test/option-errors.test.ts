import { describe, expect, it } from 'vitest';
import { OptionError, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import { thrownBy } from '@moxi/kernels/testing';
import { attentionRollout } from '../src/methods/rollout.ts';
import { PlayerGrid } from '../src/player-grid.ts';

// Refusals of request options name the option as the library spells it (grid, maskMode,
// method) and word the problem without any front-end's flags; the CLI maps them to flags.

/** Just what PlayerGrid.create reads of a model. */
const stub = (kind: 'vit' | 'resnet', grid: [number, number], inputShape: [number, number, number]) => ({ kind, grid, inputShape }) as unknown as ImageClassifier;
const vit = stub('vit', [7, 7], [3, 112, 112]);
const cnn = stub('resnet', [14, 14], [3, 224, 224]);

const optionErrorOf = (fn: () => unknown): OptionError => thrownBy(fn, OptionError);

describe('PlayerGrid refuses options that do not fit the model', () => {
  it.each([
    ['token masking of a CNN', () => PlayerGrid.create(cnn, 'token'), 'maskMode', 'maskMode: token masking needs a ViT; a CNN takes pixel masking'],
    ['attention masking of a CNN', () => PlayerGrid.create(cnn, 'attention'), 'maskMode', 'maskMode: attention masking needs a ViT; a CNN takes pixel masking'],
    ['groups that do not tile the token grid', () => PlayerGrid.create(vit, 'token', 3), 'grid', 'grid: 3x3 groups do not tile the 7x7 token grid (choose a divisor of 7 and 7)'],
    ['a pixel grid that does not divide the input', () => PlayerGrid.create(cnn, 'pixel', 5), 'grid', 'grid: 5x5 does not divide the 224x224 input into equal cells (choose a divisor of 224 and 224)'],
  ] as const)('%s', (_name, create, option, message) => {
    const error = optionErrorOf(create);
    expect(error.option).toBe(option);
    expect(error.subject).toBe(option);
    expect(error.message).toBe(message);
    expect(error.message).not.toContain('--');
  });

  it('accepts the grids that fit', () => {
    expect(PlayerGrid.create(vit, 'token', 7).players).toBe(49);
    expect(PlayerGrid.create(cnn, 'pixel', 7).players).toBe(49);
  });
});

describe('attention rollout', () => {
  it('refuses a model without attention, naming the method option', async () => {
    const image: HostTensor = { shape: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224) };
    const error = await attentionRollout(cnn, image).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionError);
    expect((error as OptionError).option).toBe('method');
    expect((error as OptionError).message).toBe('method: attention rollout needs a ViT; a CNN has no attention to roll out');
    expect((error as OptionError).message).not.toContain('--');
  });
});
