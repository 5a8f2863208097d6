/**
 * A Hugging Face `preprocessor_config.json` -> Preprocessing, for the (slow, PIL-based)
 * image processors of the models we load: ViT, DeiT and ConvNeXT (which ResNet folders
 * use). Each reproduces the class's `preprocess` with its own defaults:
 *   ViT: resize to size {height, width} exactly (bilinear), no crop;
 *   DeiT: resize to size exactly (bicubic), then center_crop to crop_size;
 *   ConvNeXT: size {shortest_edge: s}; if s < 384, the short side goes to
 *     int(s / crop_pct) keeping the aspect ratio, then center_crop to s x s; otherwise a
 *     plain s x s resize (bicubic; crop_pct defaults to 224 / 256);
 * then rescale (float64 multiply, cast to float32) and normalize, mean / std defaulting
 * to IMAGENET_STANDARD (0.5). HF's resize converts uint8 arrays to PIL images, so it is
 * Pillow's resampler; its center_crop rounds with floor (see CropConvention).
 * "...Fast" processor names map to the same recipe: those run torchvision on tensors and
 * differ from the PIL ones by rounding, but the checkpoints were evaluated with PIL.
 */
import { InputError } from './input-error.ts';
import {
  describeJson,
  isJsonObject,
  isPositiveInteger,
  readBoolean,
  readChannelTriple,
  readPositiveInteger,
  readPositiveNumber,
  type JsonObject,
} from './json-values.ts';
import type { Preprocessing, ResizeSpec } from './preprocessing.ts';
import type { ResampleFilter } from './resample.ts';

type Family = 'vit' | 'deit' | 'convnext';

const FAMILIES: Record<string, Family> = {
  ViTImageProcessor: 'vit',
  ViTImageProcessorFast: 'vit',
  ViTFeatureExtractor: 'vit',
  DeiTImageProcessor: 'deit',
  DeiTImageProcessorFast: 'deit',
  DeiTFeatureExtractor: 'deit',
  ConvNextImageProcessor: 'convnext',
  ConvNextImageProcessorFast: 'convnext',
  ConvNextFeatureExtractor: 'convnext',
};

const IMAGENET_STANDARD: [number, number, number] = [0.5, 0.5, 0.5];
/** PIL.Image.Resampling, indexed by the integers HF configs store. */
const PIL_FILTERS: readonly ResampleFilter[] = ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'];
const BILINEAR = 2;
const BICUBIC = 3;

interface HeightWidth {
  height: number;
  width: number;
}

/** transformers' get_size_dict: an int means a square (or the shortest edge), a list is [height, width]. */
function readSizeDict(value: unknown, key: string, defaultToSquare: boolean, fileName: string): JsonObject {
  if (isPositiveInteger(value)) return defaultToSquare ? { height: value, width: value } : { shortest_edge: value };
  if (Array.isArray(value) && value.length === 2 && value.every(isPositiveInteger)) {
    return { height: value[0], width: value[1] };
  }
  if (isJsonObject(value)) return value;
  throw new InputError(
    fileName,
    `${key} must be an integer, [height, width] or an object such as {"height": 224, "width": 224}, got ${describeJson(value)}`,
  );
}

function readHeightWidth(value: unknown, key: string, fileName: string): HeightWidth {
  const size = readSizeDict(value, key, true, fileName);
  if (size.height === undefined || size.width === undefined) {
    throw new InputError(fileName, `${key} must give height and width, got ${describeJson(value)}`);
  }
  return {
    height: readPositiveInteger(size.height, `${key}.height`, fileName),
    width: readPositiveInteger(size.width, `${key}.width`, fileName),
  };
}

function readResample(value: unknown, fallback: number, fileName: string): ResampleFilter {
  const code = value === undefined || value === null ? fallback : value;
  const filter = typeof code === 'number' && Number.isInteger(code) ? PIL_FILTERS[code] : undefined;
  if (filter === undefined) {
    throw new InputError(
      fileName,
      `resample must be a PIL filter number (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming), got ${describeJson(value)}`,
    );
  }
  return filter;
}

/** A key the config may leave out (or set to null) to get the class default. */
function option<T>(config: JsonObject, key: string, fallback: T, read: (value: unknown) => T): T {
  const value = config[key];
  return value === undefined || value === null ? fallback : read(value);
}

interface Geometry {
  inputSize: [number, number];
  resize: ResizeSpec | null;
  interpolation: ResampleFilter;
  centerCrop: Preprocessing['centerCrop'];
}

function undeterminedSize(fileName: string): never {
  throw new InputError(
    fileName,
    'with do_resize false (and no center crop) the input size would depend on each image; set "do_resize": true',
  );
}

function vitGeometry(config: JsonObject, fileName: string): Geometry {
  const doResize = option(config, 'do_resize', true, (v) => readBoolean(v, 'do_resize', fileName));
  const size = option(config, 'size', { height: 224, width: 224 }, (v) => readHeightWidth(v, 'size', fileName));
  const interpolation = readResample(config.resample, BILINEAR, fileName);
  if (!doResize) undeterminedSize(fileName);
  return { inputSize: [size.height, size.width], resize: { mode: 'exact', ...size }, interpolation, centerCrop: null };
}

function deitGeometry(config: JsonObject, fileName: string): Geometry {
  const doResize = option(config, 'do_resize', true, (v) => readBoolean(v, 'do_resize', fileName));
  const size = option(config, 'size', { height: 256, width: 256 }, (v) => readHeightWidth(v, 'size', fileName));
  const interpolation = readResample(config.resample, BICUBIC, fileName);
  const doCrop = option(config, 'do_center_crop', true, (v) => readBoolean(v, 'do_center_crop', fileName));
  const crop = option(config, 'crop_size', { height: 224, width: 224 }, (v) => readHeightWidth(v, 'crop_size', fileName));
  const resize: ResizeSpec | null = doResize ? { mode: 'exact', ...size } : null;
  if (doCrop) {
    return {
      inputSize: [crop.height, crop.width],
      resize,
      interpolation,
      centerCrop: { ...crop, convention: 'transformers' },
    };
  }
  if (!doResize) undeterminedSize(fileName);
  return { inputSize: [size.height, size.width], resize, interpolation, centerCrop: null };
}

function convnextGeometry(config: JsonObject, fileName: string): Geometry {
  const doResize = option(config, 'do_resize', true, (v) => readBoolean(v, 'do_resize', fileName));
  const size = option(config, 'size', { shortest_edge: 384 }, (v) => readSizeDict(v, 'size', false, fileName));
  if (size.shortest_edge === undefined) {
    throw new InputError(
      fileName,
      `a ConvNext image processor needs size {"shortest_edge": N}, got ${describeJson(config.size)}`,
    );
  }
  const edge = readPositiveInteger(size.shortest_edge, 'size.shortest_edge', fileName);
  const cropPct = option(config, 'crop_pct', 224 / 256, (v) => readPositiveNumber(v, 'crop_pct', fileName));
  const interpolation = readResample(config.resample, BICUBIC, fileName);
  if (!doResize) undeterminedSize(fileName);
  if (edge >= 384) {
    return { inputSize: [edge, edge], resize: { mode: 'exact', height: edge, width: edge }, interpolation, centerCrop: null };
  }
  return {
    inputSize: [edge, edge],
    resize: { mode: 'shortest-edge', size: Math.trunc(edge / cropPct) },
    interpolation,
    centerCrop: { height: edge, width: edge, convention: 'transformers' },
  };
}

const GEOMETRY: Record<Family, (config: JsonObject, fileName: string) => Geometry> = {
  vit: vitGeometry,
  deit: deitGeometry,
  convnext: convnextGeometry,
};

export function preprocessingFromHuggingFace(preprocessorConfig: unknown, fileName: string): Preprocessing {
  if (!isJsonObject(preprocessorConfig)) {
    throw new InputError(fileName, `expected a preprocessor_config.json object, got ${describeJson(preprocessorConfig)}`);
  }
  const config = preprocessorConfig;
  const typeName = config.image_processor_type ?? config.feature_extractor_type;
  const family = typeof typeName === 'string' ? FAMILIES[typeName] : undefined;
  if (family === undefined) {
    const supported = Object.keys(FAMILIES).filter((name) => name.endsWith('ImageProcessor'));
    throw new InputError(
      fileName,
      typeName === undefined
        ? `missing image_processor_type; add e.g. "image_processor_type": "ViTImageProcessor" (supported: ${supported.join(', ')})`
        : `image processor ${describeJson(typeName)} is not supported (supported: ${supported.join(', ')})`,
    );
  }
  const geometry = GEOMETRY[family](config, fileName);
  const doRescale = option(config, 'do_rescale', true, (v) => readBoolean(v, 'do_rescale', fileName));
  const rescaleFactor = option(config, 'rescale_factor', 1 / 255, (v) => readPositiveNumber(v, 'rescale_factor', fileName));
  const doNormalize = option(config, 'do_normalize', true, (v) => readBoolean(v, 'do_normalize', fileName));
  const mean = option(config, 'image_mean', IMAGENET_STANDARD, (v) => readChannelTriple(v, 'image_mean', fileName, false));
  const std = option(config, 'image_std', IMAGENET_STANDARD, (v) => readChannelTriple(v, 'image_std', fileName, true));
  return {
    ...geometry,
    rescale: doRescale ? rescaleFactor : 1,
    mean: doNormalize ? mean : [0, 0, 0],
    std: doNormalize ? std : [1, 1, 1],
  };
}
