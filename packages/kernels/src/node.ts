// Node-only entry point: reading models and inputs from disk.
export { readModelFiles } from './node/model-folder.ts';
export { readInputFile } from './node/input-file.ts';
export { decodeImage, sniffImageFormat } from './io/image-decode.ts';
