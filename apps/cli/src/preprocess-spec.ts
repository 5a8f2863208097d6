import { preprocessingFromTimm, type ModelInfo, type Preprocessing } from '@moxi/kernels';
import { usageError } from './cli-error.ts';

export const PREPROCESS_HELP =
  'how images are turned into the model\'s input, replacing what the model folder says (a bare .safetensors has nothing, so imagenet): ' +
  'imagenet (timm\'s default: short side to input/0.875 bicubic, center crop, mean 0.485,0.456,0.406, std 0.229,0.224,0.225) | ' +
  'inception (the same with mean 0.5, std 0.5) | none (the same resize and crop, no normalization: pixels / 255) | ' +
  'mean=M[,M,M],std=S[,S,S],size=N (any of them; the rest from imagenet; size: the short side before the center crop), ' +
  'e.g. --preprocess inception,size=224';

const PRESETS: Record<string, { mean: [number, number, number]; std: [number, number, number] }> = {
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  inception: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  none: { mean: [0, 0, 0], std: [1, 1, 1] },
};

/** The preprocessing timm gives a model of this input size with no pretrained_cfg: ImageNet's. */
function imagenetFor(info: ModelInfo): Preprocessing {
  const [C, H, W] = info.inputShape;
  return preprocessingFromTimm({ architecture: info.architecture, pretrained_cfg: { input_size: [C, H, W] } }, '--preprocess');
}

function triple(key: string, values: string[], positive: boolean): [number, number, number] {
  if (values.length !== 1 && values.length !== 3) throw usageError('--preprocess', `${key} takes 1 or 3 numbers (one per channel), got ${values.length}`);
  const numbers = values.map((v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (positive && n <= 0)) throw usageError('--preprocess', `${key}=${values.join(',')}: "${v}" is not a${positive ? ' positive' : ''} number`);
    return n;
  });
  return (numbers.length === 1 ? [numbers[0]!, numbers[0]!, numbers[0]!] : numbers) as [number, number, number];
}

/**
 * `--preprocess SPEC` for `info`: a preset (imagenet, inception, none) and/or keys
 * mean=..., std=..., size=N, comma separated ("mean=0.5,0.5,0.5,std=0.5,size=224": a bare
 * number continues the key before it).
 */
export function preprocessingFromSpec(spec: string, info: ModelInfo): Preprocessing {
  if (info.inputShape[0] !== 3) throw usageError('--preprocess', `images are RGB; ${info.architecture} takes ${info.inputShape[0]}-channel input (give a .npy tensor instead)`);
  const tokens = spec.split(',').map((t) => t.trim());
  if (tokens.every((t) => t === '')) throw usageError('--preprocess', 'is empty; give imagenet, inception, none, or mean=...,std=...,size=...');
  const keys = new Map<string, string[]>();
  let preset = PRESETS.imagenet!;
  let current: string[] | undefined;
  tokens.forEach((token, i) => {
    const eq = token.indexOf('=');
    if (eq < 0) {
      if (i === 0 && token in PRESETS) preset = PRESETS[token]!;
      else if (current) current.push(token);
      else throw usageError('--preprocess', `"${token}" is not a preset (imagenet, inception, none) or a key (mean=, std=, size=)`);
      return;
    }
    const key = token.slice(0, eq).trim();
    if (!['mean', 'std', 'size'].includes(key)) throw usageError('--preprocess', `unknown key "${key}" (mean, std, size)`);
    if (keys.has(key)) throw usageError('--preprocess', `${key} is given twice`);
    current = [token.slice(eq + 1)];
    keys.set(key, current);
  });
  const base = imagenetFor(info);
  const result: Preprocessing = { ...base, mean: preset.mean, std: preset.std };
  if (keys.has('mean')) result.mean = triple('mean', keys.get('mean')!, false);
  if (keys.has('std')) result.std = triple('std', keys.get('std')!, true);
  const size = keys.get('size');
  if (size) {
    const text = size.join(',');
    if (size.length !== 1 || !/^\d+$/.test(text.trim()) || Number(text) === 0) throw usageError('--preprocess', `size=${text}: give one positive integer (the short side before the center crop)`);
    result.resize = { mode: 'shortest-edge', size: Number(text) };
    result.interpolation = 'bicubic';
  }
  return result;
}

/** One line: "short side to 256 (bicubic), center crop 224x224, mean 0.485,0.456,0.406, std 0.229,0.224,0.225". */
export function describePreprocessing(p: Preprocessing): string {
  const resize = !p.resize
    ? 'no resize'
    : p.resize.mode === 'shortest-edge'
      ? `short side to ${p.resize.size} (${p.interpolation})`
      : `resize to ${p.resize.height}x${p.resize.width} (${p.resize.mode}, ${p.interpolation})`;
  const crop = p.centerCrop ? `, center crop ${p.centerCrop.height}x${p.centerCrop.width}` : '';
  return `${resize}${crop}, pixels x ${p.rescale === 1 / 255 ? '1/255' : p.rescale}, mean ${p.mean.join(',')}, std ${p.std.join(',')}`;
}
