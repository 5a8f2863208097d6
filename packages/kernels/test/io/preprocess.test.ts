import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.ts';
import { parseNpy } from '../../src/io/npy.ts';
import {
  centerCropRgb8,
  preprocessImage,
  preprocessingFromHuggingFace,
  preprocessingFromTimm,
  resizedSize,
  roundHalfEven,
  type Preprocessing,
} from '../../src/io/preprocess.ts';
import { fixtureBytes, manifest, type PipelineCase } from './fixtures.ts';
import { inputErrorOf } from '../helpers/input-error.ts';

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

function checkGolden(c: PipelineCase, prep: Preprocessing): void {
  const image = decodeImage(fixtureBytes(c.source), c.source);
  const out = preprocessImage(image, prep, c.name);
  const expected = parseNpy(fixtureBytes(c.file), c.file);
  expect(out.shape).toEqual(expected.shape);
  let maxDiff = 0;
  for (let i = 0; i < out.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out.data[i]! - expected.data[i]!));
  expect(maxDiff).toBeLessThanOrEqual(1e-6);
}

describe('preprocessImage reproduces the libraries end to end (max abs diff <= 1e-6; in practice 0)', () => {
  it.each(manifest.timm.map((c) => [c.name, c] as const))('timm eval transform: %s', (_, c) => {
    checkGolden(c, preprocessingFromTimm(c.config, 'config.json'));
  });

  it.each(manifest.huggingface.map((c) => [c.name, c] as const))('Hugging Face image processor: %s', (_, c) => {
    checkGolden(c, preprocessingFromHuggingFace(c.config, 'preprocessor_config.json'));
  });
});

describe('preprocessingFromTimm', () => {
  it.each<[string, unknown, Partial<Preprocessing>]>([
    [
      'defaults (empty pretrained_cfg)',
      { architecture: 'vit_tiny_patch16_224', pretrained_cfg: {} },
      {
        inputSize: [224, 224],
        resize: { mode: 'shortest-edge', size: 256 },
        interpolation: 'bicubic',
        centerCrop: { height: 224, width: 224, convention: 'torchvision' },
        mean: IMAGENET_MEAN as [number, number, number],
        std: IMAGENET_STD as [number, number, number],
        rescale: 1 / 255,
      },
    ],
    [
      'crop_pct 0.9, bilinear, inception mean (floor(224 / 0.9) = 248)',
      { pretrained_cfg: { input_size: [3, 224, 224], interpolation: 'bilinear', crop_pct: 0.9, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } },
      { resize: { mode: 'shortest-edge', size: 248 }, interpolation: 'bilinear', mean: [0.5, 0.5, 0.5] },
    ],
    [
      'null values fall back to defaults as in timm (cfg.get(k) or default)',
      { pretrained_cfg: { input_size: [3, 224, 224], interpolation: '', crop_pct: null, mean: null, crop_mode: null } },
      { resize: { mode: 'shortest-edge', size: 256 }, interpolation: 'bicubic', mean: IMAGENET_MEAN as [number, number, number] },
    ],
    [
      'pre-0.6 hub config with the cfg at the top level',
      { architecture: 'resnet18', input_size: [3, 160, 160], crop_pct: 1.0, interpolation: 'bilinear' },
      { inputSize: [160, 160], resize: { mode: 'shortest-edge', size: 160 }, interpolation: 'bilinear' },
    ],
    [
      'model_args.img_size (int) overrides input_size',
      { pretrained_cfg: { input_size: [3, 224, 224], crop_pct: 1.0 }, model_args: { img_size: 384 } },
      { inputSize: [384, 384], resize: { mode: 'shortest-edge', size: 384 } },
    ],
    [
      'model_args.img_size [h, w]: non-square uses ResizeKeepRatio, always bilinear in timm',
      { pretrained_cfg: { input_size: [3, 224, 224], interpolation: 'bicubic' }, model_args: { img_size: [192, 256] } },
      {
        inputSize: [192, 256],
        resize: { mode: 'keep-ratio', height: 219, width: 292 },
        interpolation: 'bilinear',
        centerCrop: { height: 192, width: 256, convention: 'torchvision' },
      },
    ],
    [
      'crop_mode squash resizes exactly',
      { pretrained_cfg: { input_size: [3, 224, 224], crop_pct: 0.95, crop_mode: 'squash' } },
      { resize: { mode: 'exact', height: 235, width: 235 } },
    ],
  ])('%s', (_, config, expected) => {
    expect(preprocessingFromTimm(config, 'config.json')).toMatchObject(expected);
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', [1, 2], /expected a timm config\.json object/],
    ['pretrained_cfg not an object', { pretrained_cfg: 'x' }, /pretrained_cfg must be an object/],
    ['border crop mode', { pretrained_cfg: { crop_mode: 'border' } }, /crop_mode "border" is not supported \(supported: center, squash\)/],
    ['random interpolation', { pretrained_cfg: { interpolation: 'random' } }, /interpolation "random" is not supported \(supported: nearest, bilinear/],
    ['interpolation not a string', { pretrained_cfg: { interpolation: 3 } }, /interpolation 3 is not supported/],
    ['input_size of 2 numbers', { pretrained_cfg: { input_size: [224, 224] } }, /input_size must be \[channels, height, width\]/],
    ['grey-scale model', { pretrained_cfg: { input_size: [1, 28, 28] } }, /1-channel input; only RGB/],
    ['bad img_size', { pretrained_cfg: {}, model_args: { img_size: 'big' } }, /model_args\.img_size must be a positive integer or \[height, width\]/],
    ['negative crop_pct', { pretrained_cfg: { crop_pct: -1 } }, /crop_pct must be a positive number/],
    ['mean of 2 values', { pretrained_cfg: { mean: [0.5, 0.5] } }, /mean must be 3 numbers/],
    ['zero std', { pretrained_cfg: { std: [0.5, 0, 0.5] } }, /std must be 3 non-zero numbers/],
  ])('rejects %s with an InputError naming the file', (_, config, message) => {
    const error = inputErrorOf(() => preprocessingFromTimm(config, 'config.json'));
    expect(error.subject).toBe('config.json');
    expect(error.problem).toMatch(message);
  });
});

describe('preprocessingFromHuggingFace', () => {
  it.each<[string, unknown, Partial<Preprocessing>]>([
    [
      'google/vit-base-patch16-224 (old feature extractor, int size)',
      { feature_extractor_type: 'ViTFeatureExtractor', size: 224, resample: 2, do_normalize: true, do_resize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] },
      { inputSize: [224, 224], resize: { mode: 'exact', height: 224, width: 224 }, interpolation: 'bilinear', centerCrop: null, rescale: 1 / 255 },
    ],
    [
      'ViT class defaults',
      { image_processor_type: 'ViTImageProcessor' },
      { inputSize: [224, 224], interpolation: 'bilinear', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    ],
    [
      'facebook/deit-base-distilled-patch16-224',
      { feature_extractor_type: 'DeiTFeatureExtractor', size: 256, crop_size: 224, do_center_crop: true, resample: 3, image_mean: IMAGENET_MEAN, image_std: IMAGENET_STD },
      {
        inputSize: [224, 224],
        resize: { mode: 'exact', height: 256, width: 256 },
        interpolation: 'bicubic',
        centerCrop: { height: 224, width: 224, convention: 'transformers' },
      },
    ],
    [
      'microsoft/resnet-50 (ConvNext processor: short side to int(224 / 0.875), crop 224)',
      { feature_extractor_type: 'ConvNextFeatureExtractor', size: 224, crop_pct: 0.875, resample: 3, image_mean: IMAGENET_MEAN, image_std: IMAGENET_STD },
      {
        inputSize: [224, 224],
        resize: { mode: 'shortest-edge', size: 256 },
        interpolation: 'bicubic',
        centerCrop: { height: 224, width: 224, convention: 'transformers' },
      },
    ],
    [
      'ConvNext at 384 or more warps without cropping',
      { image_processor_type: 'ConvNextImageProcessor', size: { shortest_edge: 384 } },
      { inputSize: [384, 384], resize: { mode: 'exact', height: 384, width: 384 }, centerCrop: null, mean: [0.5, 0.5, 0.5] },
    ],
    [
      'ConvNext with crop_pct null uses 224 / 256',
      { image_processor_type: 'ConvNextImageProcessor', size: { shortest_edge: 224 }, crop_pct: null },
      { resize: { mode: 'shortest-edge', size: 256 } },
    ],
    [
      'do_rescale / do_normalize off, mean as a single number',
      { image_processor_type: 'ViTImageProcessorFast', do_rescale: false, do_normalize: false, image_mean: 0.5 },
      { rescale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
    ],
    [
      'DeiT without resize keeps the crop size as input size',
      { image_processor_type: 'DeiTImageProcessor', do_resize: false, crop_size: { height: 32, width: 48 } },
      { inputSize: [32, 48], resize: null, centerCrop: { height: 32, width: 48, convention: 'transformers' } },
    ],
    [
      'size as [height, width] and every PIL filter number',
      { image_processor_type: 'ViTImageProcessor', size: [30, 40], resample: 5 },
      { inputSize: [30, 40], interpolation: 'hamming' },
    ],
  ])('%s', (_, config, expected) => {
    expect(preprocessingFromHuggingFace(config, 'preprocessor_config.json')).toMatchObject(expected);
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', 'vit', /expected a preprocessor_config\.json object/],
    ['no processor type', { size: 224 }, /missing image_processor_type; add e\.g\. "image_processor_type": "ViTImageProcessor"/],
    ['unknown processor', { image_processor_type: 'CLIPImageProcessor' }, /image processor "CLIPImageProcessor" is not supported \(supported: ViTImageProcessor, DeiTImageProcessor, ConvNextImageProcessor\)/],
    ['ViT given a shortest edge', { image_processor_type: 'ViTImageProcessor', size: { shortest_edge: 224 } }, /size must give height and width/],
    ['ConvNext given height and width', { image_processor_type: 'ConvNextImageProcessor', size: { height: 224, width: 224 } }, /needs size \{"shortest_edge": N\}/],
    ['size a string', { image_processor_type: 'ViTImageProcessor', size: '224' }, /size must be an integer, \[height, width\] or an object/],
    ['zero height', { image_processor_type: 'ViTImageProcessor', size: { height: 0, width: 224 } }, /size\.height must be a positive integer/],
    ['resample out of range', { image_processor_type: 'ViTImageProcessor', resample: 7 }, /resample must be a PIL filter number/],
    ['do_resize not a boolean', { image_processor_type: 'ViTImageProcessor', do_resize: 'yes' }, /do_resize must be true or false/],
    ['ViT without resize', { image_processor_type: 'ViTImageProcessor', do_resize: false }, /input size would depend on each image/],
    ['zero std', { image_processor_type: 'ViTImageProcessor', image_std: 0 }, /image_std must be 3 non-zero numbers/],
    ['bad rescale factor', { image_processor_type: 'ViTImageProcessor', rescale_factor: 0 }, /rescale_factor must be a positive number/],
  ])('rejects %s with an InputError naming the file', (_, config, message) => {
    const error = inputErrorOf(() => preprocessingFromHuggingFace(config, 'preprocessor_config.json'));
    expect(error.subject).toBe('preprocessor_config.json');
    expect(error.problem).toMatch(message);
  });
});

describe('geometry helpers', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [3.5, 4],
    [2.4999, 2],
    [2.5001, 3],
  ])('roundHalfEven(%f) = %i (Python round)', (x, expected) => {
    expect(roundHalfEven(x)).toBe(expected);
  });

  it.each<[number, number, Parameters<typeof resizedSize>[2], [number, number]]>([
    [500, 375, { mode: 'shortest-edge', size: 256 }, [341, 256]], // int(256 * 500 / 375) = 341
    [375, 500, { mode: 'shortest-edge', size: 256 }, [256, 341]],
    [37, 29, { mode: 'shortest-edge', size: 36 }, [45, 36]], // upscaling: int(45.93)
    [64, 48, { mode: 'exact', height: 10, width: 20 }, [20, 10]],
    [64, 48, { mode: 'keep-ratio', height: 27, width: 36 }, [36, 27]],
    [100, 30, { mode: 'keep-ratio', height: 20, width: 20 }, [67, 20]], // round(66.67)
  ])('resizedSize(%i x %i, %j) = %j', (w, h, spec, expected) => {
    expect(resizedSize(w, h, spec)).toEqual(expected);
  });

  // One row of pixels 0..6 (as R; G and B copy it) cropped to width 4, and 2 padded to 5.
  const row = (values: number[]) => ({ width: values.length, height: 1, data: Uint8Array.from(values.flatMap((v) => [v, v, v])) });
  const reds = (image: { data: Uint8Array }) => [...image.data].filter((_, i) => i % 3 === 0);
  it.each<['torchvision' | 'transformers', number[], number, number[]]>([
    ['torchvision', [1, 2, 3, 4, 5, 6, 7], 4, [3, 4, 5, 6]], // round(1.5) = 2
    ['transformers', [1, 2, 3, 4, 5, 6, 7], 4, [2, 3, 4, 5]], // 3 // 2 = 1
    ['torchvision', [1, 2, 3, 4, 5, 6], 4, [2, 3, 4, 5]], // round(1.0) = 1
    ['torchvision', [1, 2], 5, [0, 1, 2, 0, 0]], // pads floor(3 / 2) = 1 before
    ['transformers', [1, 2], 5, [0, 0, 1, 2, 0]], // pads ceil(3 / 2) = 2 before
  ])('%s center crop of %j to width %i gives %j', (convention, values, width, expected) => {
    expect(reds(centerCropRgb8(row(values), { height: 1, width, convention }))).toEqual(expected);
  });

  it('pads vertically too, and mixes crop and pad per axis', () => {
    const image = { width: 3, height: 1, data: Uint8Array.from([10, 10, 10, 20, 20, 20, 30, 30, 30]) };
    const out = centerCropRgb8(image, { height: 3, width: 2, convention: 'torchvision' });
    // Width 3 -> 2 starts at round(0.5) = 0; height 1 -> 3 pads one row above.
    expect(reds(out)).toEqual([0, 0, 10, 20, 0, 0]);
  });
});

describe('preprocessImage', () => {
  const prep: Preprocessing = {
    inputSize: [1, 2],
    resize: null,
    interpolation: 'bilinear',
    centerCrop: null,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    rescale: 1 / 255,
  };

  it('normalizes in float32 like ToTensor + Normalize, into NCHW planes', () => {
    const out = preprocessImage({ width: 2, height: 1, data: Uint8Array.from([0, 128, 255, 255, 0, 64]) }, prep);
    expect(out.shape).toEqual([1, 3, 1, 2]);
    const f = Math.fround;
    const norm = (v: number, c: number) => f(f(f(v / 255) - f(prep.mean[c]!)) / f(prep.std[c]!));
    expect([...out.data]).toEqual([norm(0, 0), norm(255, 0), norm(128, 1), norm(0, 1), norm(255, 2), norm(64, 2)]);
  });

  it('throws an InputError naming the config when the output size contradicts inputSize', () => {
    const error = inputErrorOf(() =>
      preprocessImage({ width: 3, height: 1, data: new Uint8Array(9) }, prep, 'preprocessor_config.json'),
    );
    expect(error.subject).toBe('preprocessor_config.json');
    expect(error.problem).toMatch(/preprocessing yields 1x3 images but the model input size is 1x2/);
  });
});
