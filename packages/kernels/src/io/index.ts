/** Model and image I/O: pure TypeScript over bytes, no file system, same in Node and browsers. */
export { InputError, OptionError, type RequestOption } from './input-error.ts';
export {
  bfloat16BitsToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from './half-float.ts';
export {
  encodeSafetensors,
  parseSafetensors,
  safetensorsMetadata,
  tensorToFloat32,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsTensorInput,
} from './safetensors.ts';
export { encodeNpy, parseNpy } from './npy.ts';
export { parseShardIndex } from './shard-index.ts';
// Decoding uses pngjs (needs Node's Buffer): exported from '@moxi/kernels/node'; browsers
// decode with createImageBitmap and hand the RGB bytes to preprocessImage.
export type { DecodedImage, ImageFormat } from './image-decode.ts';
export { resizeRgb8, type ResampleFilter } from './resample.ts';
export {
  centerCropRgb8,
  cropOffset,
  preprocessImage,
  resizeAndCrop,
  preprocessingFromHuggingFace,
  preprocessingFromTimm,
  resizedSize,
  roundHalfEven,
  type CenterCrop,
  type CropConvention,
  type Preprocessing,
  type ResizeSpec,
} from './preprocess.ts';
export {
  fetchModelFiles,
  isUrlString,
  pickedFolderModelFiles,
  readModelSource,
  useLocalModelReader,
  type LocalModelReader,
  type ModelSource,
  type PickedFile,
} from './model-source.ts';
export {
  decodeImageBlob,
  imageBitmapToRgb,
  imageForModel,
  readImageSource,
  rgbaToRgb,
  useLocalImageReader,
  type ImageSource,
  type ImageTarget,
  type LocalImageReader,
  type ModelImage,
} from './image-source.ts';
