// Node-only entry point: WebGPU through Dawn, and models and inputs read from disk.
// Importing it makes acquireDevice() find Dawn when there is no navigator.gpu, and lets
// readModelSource / readImageSource take paths on this machine.
import { useGpuProvider } from './gpu/device.ts';
import { dawnGpu } from './gpu/dawn.ts';
import { useLocalImageReader } from './io/image-source.ts';
import { useLocalModelReader } from './io/model-source.ts';
import { localImageReader } from './node/local-readers.ts';
import { readModelFiles } from './node/model-folder.ts';

useGpuProvider(dawnGpu);
useLocalModelReader((path) => readModelFiles(path));
useLocalImageReader(localImageReader);

export { dawnGpu } from './gpu/dawn.ts';
export { readModelFiles } from './node/model-folder.ts';
export { readInputFile } from './node/input-file.ts';
export { decodeImage, sniffImageFormat } from './io/image-decode.ts';
