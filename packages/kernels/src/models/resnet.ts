import type { GpuEngine } from '../gpu/engine.ts';
import { GpuTensor } from '../gpu/gpu-tensor.ts';
import type { HostTensor } from '../host-tensor.ts';
import { InputError, OptionError } from '../io/input-error.ts';
import { conv2d, convOutputSize, globalAvgPool, maxPool2d } from '../ops/conv2d.ts';
import { linear, type LinearWeights } from '../ops/matmul.ts';
import { checkInputShape, type ImageClassifier } from './classifier.ts';
import { refuseOversizedUpload, type ActivationFootprint } from './device-limits.ts';
import { forwardInImageGroups } from './image-groups.ts';
import type { GradientOptions, GradientResult, OutputGradient } from './gradient.ts';
import { resnetGradient } from './resnet-gradient.ts';
import { defaultMaskModeOf, resolveRowImages, type ForwardRequest, type ForwardResult } from './patch-mask.ts';
import { checkPixelGrid, defaultPixelGrid, maskedRows } from './pixel-rows.ts';
import { PreparedInput } from './prepared-input.ts';
import type { ResNetConfig } from './resnet-config.ts';
import type { ModelConv, ResNetGpuBlock, ResNetParts } from './resnet-parts.ts';
import { resnetParameterCount, type HostConv, type ResNetWeights } from './resnet-weights.ts';

export type { ModelConv, ResNetGpuBlock } from './resnet-parts.ts';

/** The geometry resnetLayerShapes needs of a convolution, on the host or the GPU. */
type ConvGeometry = Pick<ModelConv, 'kernel' | 'stride' | 'padding' | 'outChannels'>;

interface LayerShape<C extends ConvGeometry> {
  conv: C;
  outH: number;
  outW: number;
}

/** Output [C, H, W] of every convolution, in order: for FLOPs and chunk sizing. */
function resnetLayerShapes<C extends ConvGeometry>(config: ResNetConfig, stem: C, blocks: ReadonlyArray<{ convs: C[]; shortcut?: C }>): Array<LayerShape<C>> {
  const shapes: Array<LayerShape<C>> = [];
  let [h, w] = config.imgSize;
  const visit = (conv: C, inH: number, inW: number) => {
    const outH = convOutputSize(inH, conv.kernel, conv.stride, conv.padding);
    const outW = convOutputSize(inW, conv.kernel, conv.stride, conv.padding);
    shapes.push({ conv, outH, outW });
    return [outH, outW] as const;
  };
  [h, w] = visit(stem, h, w);
  [h, w] = [convOutputSize(h, 3, 2, 1), convOutputSize(w, 3, 2, 1)];
  for (const b of blocks) {
    if (b.shortcut) visit(b.shortcut, h, w);
    for (const c of b.convs) [h, w] = visit(c, h, w);
  }
  return shapes;
}

/** The largest activation of one image (or its input), the unit forward passes are chunked by. */
export function resnetActivation(config: ResNetConfig, stem: ConvGeometry, blocks: ReadonlyArray<{ convs: ConvGeometry[]; shortcut?: ConvGeometry }>): ActivationFootprint {
  const [H, W] = config.imgSize;
  let best: ActivationFootprint = { floats: config.inChans * H * W, what: `one ${H}x${W} input image` };
  for (const { conv, outH, outW } of resnetLayerShapes(config, stem, blocks)) {
    const floats = conv.outChannels * outH * outW;
    if (floats > best.floats) best = { floats, what: `one image's activation of ${conv.outChannels} channels x ${outH} x ${outW}` };
  }
  return best;
}

/**
 * ResNet-18/34/50/101/152 forward pass on NHWC activations, BatchNorm folded into the
 * convolutions. Pixel masking builds the masked copies of the input on the GPU, so a
 * batch of coalitions of one image costs one upload.
 */
export class ResNet implements ImageClassifier, ResNetParts {
  readonly kind = 'resnet';
  readonly defaultMaskMode = defaultMaskModeOf('resnet');
  readonly parameterCount: number;
  readonly stem: ModelConv;
  readonly blocks: ResNetGpuBlock[];
  readonly fc: LinearWeights;
  /** Floats in the largest activation of one image: bounds the rows per chunk. */
  private readonly floatsPerImage: number;

  constructor(
    readonly engine: GpuEngine,
    readonly config: ResNetConfig,
    weights: ResNetWeights,
  ) {
    const conv = (c: HostConv, label: string): ModelConv => ({
      realInChannels: c.realInChannels,
      realOutChannels: c.realOutChannels,
      inChannels: c.inChannels,
      outChannels: c.outChannels,
      kernel: c.kernel,
      stride: c.stride,
      padding: c.padding,
      weight: engine.persistent(c.weight, [c.weight.length], `${label}.weight`),
      bias: engine.persistent(c.bias, [c.bias.length], `${label}.bias`),
    });
    this.stem = conv(weights.stem, 'stem');
    this.blocks = weights.blocks.map((b, i) => {
      const block: ResNetGpuBlock = { convs: b.convs.map((c, j) => conv(c, `block${i}.conv${j}`)) };
      if (b.shortcut) block.shortcut = conv(b.shortcut, `block${i}.shortcut`);
      return block;
    });
    this.fc = {
      weight: engine.persistent(weights.fc.weight, [weights.fc.weight.length], 'fc.weight'),
      bias: engine.persistent(weights.fc.bias!, [weights.fc.bias!.length], 'fc.bias'),
      inFeatures: weights.fc.inFeatures,
      outFeatures: weights.fc.outFeatures,
    };
    this.parameterCount = resnetParameterCount(weights);
    this.floatsPerImage = resnetActivation(config, this.stem, this.blocks).floats;
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  get inputShape(): [number, number, number] {
    return [this.config.inChans, this.config.imgSize[0], this.config.imgSize[1]];
  }

  /** The default player grid of pixel masking. */
  get grid(): [number, number] {
    return defaultPixelGrid(this.config.imgSize[0], this.config.imgSize[1]);
  }

  flopsPerImage(): number {
    const shapes = resnetLayerShapes(this.config, this.stem, this.blocks);
    const convs = shapes.reduce((a, { conv: c, outH, outW }) => a + 2 * outH * outW * c.kernel * c.kernel * c.realInChannels * c.realOutChannels, 0);
    const features = shapes[shapes.length - 1]!.conv.realOutChannels;
    return convs + 2 * features * this.fc.outFeatures;
  }

  gradient(images: HostTensor, outputGradient: OutputGradient, options: GradientOptions = {}): Promise<GradientResult> {
    checkInputShape(this.inputShape, images.shape);
    return resnetGradient(this, images, outputGradient, options);
  }

  prepare(images: HostTensor): PreparedInput {
    checkInputShape(this.inputShape, images.shape);
    refuseOversizedUpload(this, images.shape[0]!);
    return new PreparedInput(this.engine.upload(images.data, images.shape), this.engine);
  }

  async forward(images: HostTensor | GpuTensor | PreparedInput, request: ForwardRequest = {}): Promise<ForwardResult> {
    const mask = request.mask;
    if (mask && mask.mode !== 'pixel') {
      throw new OptionError('maskMode', `${mask.mode} masking needs a ViT; a ResNet hides patches in pixel space (use pixel masking)`);
    }
    if (request.captureAttention) throw new InputError('captureAttention', 'a ResNet has no attention to capture');
    const grouped = forwardInImageGroups(this, images, request);
    if (grouped) return grouped;
    const prepared = images instanceof PreparedInput ? images : undefined;
    const input =
      images instanceof PreparedInput ? images.images : images instanceof GpuTensor ? images : this.engine.upload(images.data, images.shape);
    try {
      checkInputShape(this.inputShape, input.shape);
      const rowImage = resolveRowImages(input.shape[0]!, request);
      const grid: [number, number] = mask ? mask.grid : [1, 1];
      checkPixelGrid(grid, this.config.imgSize);
      const limit = this.engine.gpu.limits.maxStorageBufferBindingSize / 4;
      const rowsPerChunk = Math.max(1, Math.floor(limit / this.floatsPerImage));
      const chunks: GpuTensor[] = [];
      for (let first = 0; first < rowImage.length; first += rowsPerChunk) {
        const last = Math.min(rowImage.length, first + rowsPerChunk);
        const x = maskedRows(this.engine, input, rowImage, mask?.keep, grid, 'nhwc', first, last);
        chunks.push(this.logits(x));
      }
      const classes = this.config.numClasses;
      const logits = new Float32Array(rowImage.length * classes);
      let offset = 0;
      for (const chunk of chunks) {
        const values = await this.engine.read(chunk);
        logits.set(values, offset);
        offset += values.length;
        this.engine.release(chunk);
      }
      return { logits, rows: rowImage.length, classes };
    } finally {
      if (!prepared && !(images instanceof GpuTensor)) this.engine.release(input);
    }
  }

  /**
   * NHWC images -> logits [B, classes]; frees its input. Each scope (GpuEngine.scope) frees
   * what it made or adopted once its result is recorded, as hand releases did.
   */
  private logits(images: GpuTensor): GpuTensor {
    const e = this.engine;
    const stem = e.scope((s) => conv2d(e, s.adopt(images), this.stem, { relu: true, label: 'stem' }));
    let x = e.scope((s) => maxPool2d(e, s.adopt(stem), 3, 2, 1));
    for (const block of this.blocks) x = this.block(x, block);
    const pooled = e.scope((s) => globalAvgPool(e, s.adopt(x)));
    return e.scope((s) => linear(e, s.adopt(pooled), this.fc, { label: 'fc' }));
  }

  /** One residual block; frees its input x (and the shortcut) after its last convolution. */
  private block(x: GpuTensor, block: ResNetGpuBlock): GpuTensor {
    const e = this.engine;
    return e.scope((s) => {
      s.adopt(x);
      const shortcut = block.shortcut ? conv2d(e, x, block.shortcut, { label: 'shortcut' }) : x;
      const last = block.convs.length - 1;
      let y = x;
      block.convs.forEach((conv, i) => {
        const options = i === last ? { relu: true, residual: shortcut, label: `conv${i + 1}` } : { relu: true, label: `conv${i + 1}` };
        const input = y;
        // The block's input stays for the shortcut; each later input is freed once read.
        y = input === x ? conv2d(e, x, conv, options) : e.scope((inner) => conv2d(e, inner.adopt(input), conv, options));
      });
      return y;
    });
  }

  destroy(): void {
    const convs = [this.stem, ...this.blocks.flatMap((b) => (b.shortcut ? [...b.convs, b.shortcut] : b.convs))];
    this.engine.release(...convs.flatMap((c) => [c.weight, c.bias]), this.fc.weight, this.fc.bias);
  }
}
