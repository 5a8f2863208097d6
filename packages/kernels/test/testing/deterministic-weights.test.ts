import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  deterministicTensor,
  deterministicVitWeights,
  fnv1a32,
  lowbias32,
  vitTimmConfigJson,
  type DeterministicVitConfig,
} from '../../src/testing/index.ts';

// Expected numbers printed by `/usr/bin/python3 tools/fixtures/deterministic_weights.py`.
describe('deterministic weights match tools/fixtures/deterministic_weights.py', () => {
  it.each([
    ['', 2166136261],
    ['a', 3826002220],
    ['cls_token', 272141497],
    ['blocks.0.attn.qkv.weight', 768105552],
  ])('fnv1a32(%j)', (name, expected) => {
    expect(fnv1a32(name)).toBe(expected);
  });

  it.each([
    [0, 0],
    [1, 1753845952],
    [2654435761, 1834104592],
    [4294967295, 1734902346],
  ])('lowbias32(%i)', (x, expected) => {
    expect(lowbias32(x)).toBe(expected);
  });

  it.each([
    ['cls_token', [1, 1, 192], 1, 0.5, 0, 0, -0.14213642477989197],
    ['cls_token', [1, 1, 192], 1, 0.5, 0, 1, -0.4549410343170166],
    ['cls_token', [1, 1, 192], 1, 0.5, 0, 191, 0.2601243555545807],
    ['blocks.0.attn.qkv.weight', [576, 192], 1, Math.sqrt(3 / 192), 0, 0, -0.11363397538661957],
    ['blocks.0.attn.qkv.weight', [576, 192], 1, Math.sqrt(3 / 192), 0, 7, 0.007414957042783499],
    ['blocks.0.attn.qkv.weight', [576, 192], 1, Math.sqrt(3 / 192), 0, 110591, -0.0732693076133728],
    ['blocks.11.norm2.weight', [192], 1, 0.2, 1, 0, 1.1285927295684814],
    ['blocks.11.norm2.weight', [192], 1, 0.2, 1, 100, 1.1276254653930664],
    ['head.bias', [1000], 7, 0.1, 0, 999, 0.03210890293121338],
  ] as const)('%s seed %i scale %f offset %f [%i]', (name, shape, seed, scale, offset, index, expected) => {
    expect(deterministicTensor(name, shape, seed, scale, offset).data[index]).toBe(expected);
  });

  it('builds timm ViT-Tiny/16 names and parameter count', () => {
    const weights = deterministicVitWeights(
      { imgSize: 224, patchSize: 16, inChans: 3, embedDim: 192, depth: 12, numHeads: 3, mlpRatio: 4, numClasses: 1000, qkvBias: true },
      1,
    );
    expect(weights.get('pos_embed')?.shape).toEqual([1, 197, 192]);
    expect(weights.get('blocks.11.attn.qkv.weight')?.shape).toEqual([576, 192]);
    expect(weights.get('head.weight')?.shape).toEqual([1000, 192]);
    expect([...weights.values()].reduce((n, t) => n + t.data.length, 0)).toBe(5_717_416);
  });
});

interface FixtureCases {
  model: {
    format: 'timm' | 'hf';
    config: string;
    generator: { seed: number; config: DeterministicVitConfig; sha256: string };
  };
}

const fixtureRoot = new URL('../fixtures/vit/', import.meta.url);
const readJson = (path: string): unknown => JSON.parse(readFileSync(new URL(path, fixtureRoot), 'utf8'));

describe.each(['vit-tiny', 'small-timm', 'small-hf', 'small-timm-avg', 'small-deit-distilled'])(
  'ViT golden fixture %s',
  (folder) => {
    const cases = readJson(`${folder}/cases.json`) as FixtureCases;
    const { seed, config, sha256 } = cases.model.generator;

    it('rebuilds the weights the PyTorch reference used, bit for bit', () => {
      const weights = deterministicVitWeights(config, seed);
      const hash = createHash('sha256');
      for (const name of [...weights.keys()].sort()) {
        const { data } = weights.get(name)!;
        hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      }
      expect(hash.digest('hex')).toBe(sha256);
    });
  },
);

const timmFolders = ['vit-tiny', 'small-timm', 'small-timm-avg', 'small-deit-distilled'];

describe.each(timmFolders)('timm fixture %s', (folder) => {
  const cases = readJson(`${folder}/cases.json`) as FixtureCases;

  it('has the config.json vitTimmConfigJson writes', () => {
    expect(cases.model.format).toBe('timm');
    expect(vitTimmConfigJson(cases.model.generator.config)).toEqual(readJson(`${folder}/${cases.model.config}`));
  });
});
