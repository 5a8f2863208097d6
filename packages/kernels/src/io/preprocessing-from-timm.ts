/**
 * A timm hub `config.json` -> Preprocessing, following timm's resolve_data_config and
 * transforms_imagenet_eval (timm 1.0):
 *   scale_size = floor(img / crop_pct) per side (crop_pct defaults to 0.875);
 *   crop_mode 'center' (the default): square scale_size -> torchvision Resize(int), the
 *     short side to scale_size and the long side int(scale_size * long / short);
 *     non-square -> ResizeKeepRatio(scale_size), which timm builds without passing the
 *     interpolation, so it is always bilinear there;
 *   crop_mode 'squash': Resize((h, w)) exactly;
 *   then torchvision CenterCrop(img_size), ToTensor, Normalize(mean, std).
 * Defaults are timm's: 3x224x224, bicubic, IMAGENET_DEFAULT mean / std. `model_args.img_size`
 * overrides input_size because it is the size the model is built with.
 */
import { InputError } from './input-error.ts';
import {
  describeJson,
  isJsonObject,
  isPositiveInteger,
  readChannelTriple,
  readPositiveNumber,
} from './json-values.ts';
import type { Preprocessing } from './preprocessing.ts';
import type { ResampleFilter } from './resample.ts';

/** timm's interpolation names, which are also torchvision's InterpolationMode values. */
const FILTER_NAMES: readonly ResampleFilter[] = ['nearest', 'bilinear', 'bicubic', 'lanczos', 'box', 'hamming'];

const IMAGENET_DEFAULT_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_DEFAULT_STD: [number, number, number] = [0.229, 0.224, 0.225];
const DEFAULT_CROP_PCT = 0.875;

/** timm treats empty values (None, '', 0, []) as "use the default": `cfg.get(key) or default`. */
function isUnset(value: unknown): boolean {
  return value === undefined || value === null || value === '' || value === 0 || (Array.isArray(value) && value.length === 0);
}

function readInputSize(cfg: Record<string, unknown>, modelArgs: unknown, fileName: string): [number, number] {
  if (isJsonObject(modelArgs) && modelArgs.img_size !== undefined && modelArgs.img_size !== null) {
    const size = modelArgs.img_size;
    if (isPositiveInteger(size)) return [size, size];
    if (Array.isArray(size) && size.length === 2 && size.every(isPositiveInteger)) return size as [number, number];
    throw new InputError(
      fileName,
      `model_args.img_size must be a positive integer or [height, width], got ${describeJson(size)}`,
    );
  }
  const inputSize = cfg.input_size;
  if (isUnset(inputSize)) return [224, 224];
  if (!Array.isArray(inputSize) || inputSize.length !== 3 || !inputSize.every(isPositiveInteger)) {
    throw new InputError(
      fileName,
      `pretrained_cfg.input_size must be [channels, height, width], got ${describeJson(inputSize)}`,
    );
  }
  const [channels, height, width] = inputSize as [number, number, number];
  if (channels !== 3) {
    throw new InputError(fileName, `the model takes ${channels}-channel input; only RGB (3 channels) is supported`);
  }
  return [height, width];
}

function readInterpolation(value: unknown, fileName: string): ResampleFilter {
  if (isUnset(value)) return 'bicubic';
  if (typeof value !== 'string' || !FILTER_NAMES.includes(value as ResampleFilter)) {
    throw new InputError(
      fileName,
      `pretrained_cfg.interpolation ${describeJson(value)} is not supported (supported: ${FILTER_NAMES.join(', ')})`,
    );
  }
  return value as ResampleFilter;
}

export function preprocessingFromTimm(config: unknown, fileName: string): Preprocessing {
  if (!isJsonObject(config)) {
    throw new InputError(fileName, `expected a timm config.json object, got ${describeJson(config)}`);
  }
  // Hub configs written before timm 0.6 keep the pretrained cfg keys at the top level.
  const cfg = config.pretrained_cfg === undefined ? config : config.pretrained_cfg;
  if (!isJsonObject(cfg)) {
    throw new InputError(fileName, `pretrained_cfg must be an object, got ${describeJson(cfg)}`);
  }
  const [height, width] = readInputSize(cfg, config.model_args, fileName);
  const interpolation = readInterpolation(cfg.interpolation, fileName);
  const cropPct = isUnset(cfg.crop_pct) ? DEFAULT_CROP_PCT : readPositiveNumber(cfg.crop_pct, 'pretrained_cfg.crop_pct', fileName);
  const mean = isUnset(cfg.mean) ? IMAGENET_DEFAULT_MEAN : readChannelTriple(cfg.mean, 'pretrained_cfg.mean', fileName, false);
  const std = isUnset(cfg.std) ? IMAGENET_DEFAULT_STD : readChannelTriple(cfg.std, 'pretrained_cfg.std', fileName, true);
  const cropMode = isUnset(cfg.crop_mode) ? 'center' : cfg.crop_mode;
  if (cropMode !== 'center' && cropMode !== 'squash') {
    throw new InputError(
      fileName,
      `pretrained_cfg.crop_mode ${describeJson(cropMode)} is not supported (supported: center, squash); ` +
        'set "crop_mode": "center" to use the standard resize-and-crop',
    );
  }

  const scaleHeight = Math.floor(height / cropPct);
  const scaleWidth = Math.floor(width / cropPct);
  const centerCrop = { height, width, convention: 'torchvision' } as const;
  const common = { inputSize: [height, width] as [number, number], centerCrop, mean, std, rescale: 1 / 255 };
  if (cropMode === 'squash') {
    return { ...common, resize: { mode: 'exact', height: scaleHeight, width: scaleWidth }, interpolation };
  }
  if (scaleHeight === scaleWidth) {
    return { ...common, resize: { mode: 'shortest-edge', size: scaleHeight }, interpolation };
  }
  return {
    ...common,
    resize: { mode: 'keep-ratio', height: scaleHeight, width: scaleWidth },
    interpolation: 'bilinear',
  };
}
