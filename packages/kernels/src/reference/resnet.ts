import type { HostTensor } from '../host-tensor.ts';
import type { ResNetConfig } from '../models/resnet-config.ts';
import type { ConvNames, ResNetNaming } from '../models/resnet-weights.ts';
import { conv2dRef, matmulRef, maxPool2dRef } from './ops.ts';

/**
 * ResNet forward pass of one NCHW image the textbook way: convolution, then BatchNorm
 * from its running statistics, then ReLU, with nothing folded or padded. The GPU model,
 * which folds BatchNorm into NHWC convolutions, must agree with it.
 */
export function resnetReferenceForward(c: ResNetConfig, weights: Map<string, HostTensor>, names: ResNetNaming, image: HostTensor, imageIndex: number): Float32Array {
  const [, C, H, W] = image.shape as [number, number, number, number];
  const per = C * H * W;
  let x: Float32Array = image.data.slice(imageIndex * per, (imageIndex + 1) * per);
  let shape: [number, number, number, number] = [1, C, H, W];

  const convBn = (input: Float32Array, inShape: typeof shape, n: ConvNames, stride: number, relu: boolean, residual?: Float32Array) => {
    const w = weights.get(`${n.conv}.weight`)!;
    const [OC, , K] = w.shape as [number, number, number];
    const { out, shape: outShape } = conv2dRef(input, inShape, w.data, OC, K, stride, K >> 1);
    const get = (p: string) => weights.get(`${n.norm}.${p}`)!.data;
    const [g, b, m, v] = [get('weight'), get('bias'), get('running_mean'), get('running_var')];
    const plane = outShape[2] * outShape[3];
    for (let o = 0; o < OC; o++)
      for (let i = 0; i < plane; i++) {
        let y = (out[o * plane + i]! - m[o]!) / Math.sqrt(v[o]! + c.eps) * g[o]! + b[o]!;
        if (residual) y += residual[o * plane + i]!;
        out[o * plane + i] = relu ? Math.max(0, y) : y;
      }
    return { out, shape: outShape };
  };

  ({ out: x, shape } = convBn(x, shape, names.stem, 2, true));
  x = maxPool2dRef(x, shape, 3, 2, 1);
  shape = [1, shape[1], Math.floor((shape[2] - 1) / 2) + 1, Math.floor((shape[3] - 1) / 2) + 1];
  let channels = c.stemWidth;
  c.depths.forEach((depth, s) => {
    const width = c.widths[s]!;
    for (let b = 0; b < depth; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      const shortcut = stride !== 1 || channels !== width ? convBn(x, shape, names.shortcut(s, b), stride, false).out : x;
      const layers = c.block === 'basic' ? [stride, 1] : [1, stride, 1];
      let y = x;
      let yShape = shape;
      layers.forEach((st, l) => {
        const last = l === layers.length - 1;
        ({ out: y, shape: yShape } = convBn(y, yShape, names.branch(s, b, l), st, true, last ? shortcut : undefined));
      });
      x = y;
      shape = yShape;
      channels = width;
    }
  });
  const plane = shape[2] * shape[3];
  const pooled = new Float32Array(channels);
  for (let ch = 0; ch < channels; ch++) {
    let sum = 0;
    for (let i = 0; i < plane; i++) sum += x[ch * plane + i]!;
    pooled[ch] = sum / plane;
  }
  const fc = weights.get(`${names.fc}.weight`)!;
  const transposed = new Float32Array(fc.data.length);
  for (let k = 0; k < c.numClasses; k++) for (let f = 0; f < channels; f++) transposed[f * c.numClasses + k] = fc.data[k * channels + f]!;
  return matmulRef(pooled, transposed, 1, channels, c.numClasses, weights.get(`${names.fc}.bias`)!.data);
}
