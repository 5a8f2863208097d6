// The library in Node: the same API as in browsers, with Dawn as the WebGPU adapter and
// paths on this machine accepted wherever a model or image source is. package.json's
// "node" condition picks this entry, so `import { loadModel } from '@moxi/attrib'` is all
// a Node program writes.
import '@moxi/kernels/node';

export * from './index.ts';
