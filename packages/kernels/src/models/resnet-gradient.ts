import type { GpuTensor } from '../gpu/gpu-tensor.ts';
import type { HostTensor } from '../host-tensor.ts';
import { InputError } from '../io/input-error.ts';
import { activationBackward } from '../ops/activation.ts';
import { conv2d, conv2dBackward, globalAvgPool, maxPool2d, maxPool2dBackward, nhwcToNchw } from '../ops/conv2d.ts';
import { linear, linearBackward } from '../ops/matmul.ts';
import { averageBackward } from '../ops/tokens.ts';
import { chunkedGradient, finishGradient, GRADIENT_CHUNK, type GradientOptions, type GradientResult, type OutputGradient } from './gradient.ts';
import { maskedRows } from './pixel-rows.ts';
import type { ResNetParts } from './resnet-parts.ts';

interface SavedBlock {
  input: GpuTensor;
  /** Each convolution's output after its ReLU (the last one includes the shortcut). */
  outputs: GpuTensor[];
}

/**
 * Input gradient of a ResNet (no mask). The forward pass keeps each block's input and
 * every convolution's output (ReLU's gradient only needs the sign of its output); the
 * backward pass runs transposed convolutions and adds the shortcut's gradient in the
 * first convolution's epilogue.
 */
export function resnetGradient(net: ResNetParts, images: HostTensor, outputGradient: OutputGradient, options: GradientOptions = {}): Promise<GradientResult> {
  // As the forward pass does: asking a CNN for attention is a caller's mistake, not an empty answer.
  if (options.captureAttention) return Promise.reject(new InputError('captureAttention', 'a ResNet has no attention to capture'));
  return chunkedGradient(images, GRADIENT_CHUNK, outputGradient, (part, chunkGradient) => resnetGradientChunk(net, part, chunkGradient, options));
}

async function resnetGradientChunk(net: ResNetParts, images: HostTensor, outputGradient: OutputGradient, options: GradientOptions): Promise<GradientResult> {
  const e = net.engine;
  const B = images.shape[0]!;
  const input = e.upload(images.data, images.shape);
  const rows = Array.from({ length: B }, (_, r) => r);
  const x0 = maskedRows(e, input, rows, undefined, [1, 1], 'nhwc', 0, B);
  e.release(input);
  const stem = conv2d(e, x0, net.stem, { relu: true, label: 'stem' });
  let x = maxPool2d(e, stem, 3, 2, 1);
  const pooledShape = x.shape;
  const saved: SavedBlock[] = [];
  for (const block of net.blocks) {
    const shortcut = block.shortcut ? conv2d(e, x, block.shortcut, { label: 'shortcut' }) : x;
    const outputs: GpuTensor[] = [];
    let y = x;
    block.convs.forEach((conv, i) => {
      const last = i === block.convs.length - 1;
      y = conv2d(e, y, conv, last ? { relu: true, residual: shortcut, label: `conv${i + 1}` } : { relu: true, label: `conv${i + 1}` });
      outputs.push(y);
    });
    if (shortcut !== x) e.release(shortcut);
    saved.push({ input: x, outputs });
    x = y;
  }
  const features = globalAvgPool(e, x);
  const logitsTensor = linear(e, features, net.fc, { label: 'fc' });
  const logits = await e.read(logitsTensor);
  e.release(features, logitsTensor);

  const classes = net.config.numClasses;
  const dLogits = e.upload(outputGradient(logits, B, classes, 0), [B, classes]);
  const dFeatures = linearBackward(e, dLogits, net.fc);
  const [, h = 1, w = 1, C = 1] = x.shape;
  let d = averageBackward(e, dFeatures, h * w).view(x.shape);
  e.release(dLogits, dFeatures);
  let cam: GradientResult['cam'];
  if (options.captureCam) {
    cam = { activation: await e.read(x), gradient: await e.read(d), positions: h * w, channels: C, skip: 0, grid: [h, w] };
  }
  for (let b = net.blocks.length - 1; b >= 0; b--) {
    const block = net.blocks[b]!;
    const { input: blockInput, outputs } = saved[b]!;
    const dOut = activationBackward(e, outputs[outputs.length - 1]!, d, 'relu');
    e.release(d);
    const dShortcut = block.shortcut ? conv2dBackward(e, dOut, block.shortcut, blockInput.shape) : dOut;
    let dy = dOut;
    for (let i = block.convs.length - 1; i >= 0; i--) {
      const inShape = i === 0 ? blockInput.shape : outputs[i - 1]!.shape;
      const dIn = conv2dBackward(e, dy, block.convs[i]!, inShape, i === 0 ? dShortcut : undefined);
      if (dy !== dOut) e.release(dy);
      if (i === 0) {
        dy = dIn;
      } else {
        dy = activationBackward(e, outputs[i - 1]!, dIn, 'relu');
        e.release(dIn);
      }
    }
    // A block's input is the previous block's last output, released with that block.
    e.release(dOut, dShortcut === dOut ? undefined : dShortcut, ...outputs);
    d = dy;
  }
  const dStem = maxPool2dBackward(e, stem, d.view(pooledShape), 3, 2, 1);
  e.release(d, saved[0]!.input);
  const dStemPre = activationBackward(e, stem, dStem, 'relu');
  e.release(dStem);
  const dX0 = conv2dBackward(e, dStemPre, net.stem, x0.shape);
  e.release(dStemPre, stem, x0);
  const dImages = nhwcToNchw(e, dX0);
  e.release(dX0);
  return finishGradient(e, dImages, logits, B, classes, cam);
}
