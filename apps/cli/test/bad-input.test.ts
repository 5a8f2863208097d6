import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, encodeSafetensors } from '@moxi/kernels';
import { deterministicVitWeights, materializeGoldenFolder, resnetGoldenFolders, VIT_FIXTURES, vitTimmConfigJson, type DeterministicVitConfig } from '@moxi/kernels/testing';
import { fileURLToPath } from 'node:url';
import { runCli } from './run-cli.ts';

// Every bad input exits 2 within a minute, with one line on stderr naming the culprit,
// and nothing on stdout.
const dir = mkdtempSync(join(tmpdir(), 'moxi-bad-'));
const EXAMPLE_IMAGE = fileURLToPath(new URL('../../../examples/images/demo.png', import.meta.url));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Subject {
  family: string;
  model: string;
  input: string;
  /** A weight the tests corrupt. */
  weight: string;
}

const vit: Subject = { family: 'ViT', model: join(VIT_FIXTURES, 'small-timm'), input: join(VIT_FIXTURES, 'small-timm', 'input.npy'), weight: 'head.weight' };
const resnetFolder = resnetGoldenFolders().find((f) => f.name === 'resnet18-64px-10')!;
const resnet: Subject = { family: 'ResNet', ...materializeGoldenFolder(resnetFolder, resnetFolder.cases[0]!, dir), weight: 'fc.weight' };

interface Header {
  [name: string]: { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>;
}

function splitSafetensors(bytes: Uint8Array): { header: Header; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

function joinSafetensors(header: Header | string, data: Uint8Array, declaredLength?: number): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };

function edited(original: Uint8Array, edit: (h: Record<string, Entry>) => void): Uint8Array {
  const { header, data } = splitSafetensors(original);
  edit(header as Record<string, Entry>);
  return joinSafetensors(header, data);
}

/** A copy of the good model folder whose weights file is `weights` (or config `config`). */
function modelWith(s: Subject, name: string, files: { weights?: Uint8Array; config?: string }): string {
  const folder = join(dir, s.family, name);
  mkdirSync(folder, { recursive: true });
  cpSync(join(s.model, 'config.json'), join(folder, 'config.json'));
  writeFileSync(join(folder, 'model.safetensors'), files.weights ?? weightsOf(s));
  if (files.config !== undefined) writeFileSync(join(folder, 'config.json'), files.config);
  return folder;
}

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const weightFiles = new Map<Subject, Uint8Array>();
function weightsOf(s: Subject): Uint8Array {
  if (!weightFiles.has(s)) weightFiles.set(s, new Uint8Array(readFileSync(join(s.model, 'model.safetensors'))));
  return weightFiles.get(s)!;
}

/** [name, entry] of every tensor, in file order. */
function byOffset(s: Subject): Array<readonly [string, Entry]> {
  const { header } = splitSafetensors(weightsOf(s));
  return Object.keys(header)
    .filter((k) => k !== '__metadata__')
    .map((n) => [n, header[n] as Entry] as const)
    .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
}

const cases: Array<{ name: string; args: (s: Subject) => string[]; names: (s: Subject) => string }> = [
  {
    name: 'truncated safetensors',
    args: (s) => ['--model', modelWith(s, 'truncated', { weights: weightsOf(s).subarray(0, weightsOf(s).length >> 1) }), '--input', s.input],
    names: (s) => join(dir, s.family, 'truncated', 'model.safetensors'),
  },
  {
    name: 'header length beyond the file',
    args: (s) => {
      const { header, data } = splitSafetensors(weightsOf(s));
      return ['--model', modelWith(s, 'long-header', { weights: joinSafetensors(header, data, weightsOf(s).length + 1000) }), '--input', s.input];
    },
    names: (s) => join(dir, s.family, 'long-header', 'model.safetensors'),
  },
  {
    name: 'header not JSON',
    args: (s) => {
      const { data } = splitSafetensors(weightsOf(s));
      return ['--model', modelWith(s, 'not-json', { weights: joinSafetensors('{"a": [1, 2', data) }), '--input', s.input];
    },
    names: (s) => join(dir, s.family, 'not-json', 'model.safetensors'),
  },
  {
    name: 'offsets past the end',
    args: (s) => {
      const [lastName] = byOffset(s)[byOffset(s).length - 1]!;
      const w = edited(weightsOf(s), (h) => (h[lastName]!.data_offsets[1] += 4096));
      return ['--model', modelWith(s, 'past-end', { weights: w }), '--input', s.input];
    },
    names: (s) => join(dir, s.family, 'past-end', 'model.safetensors'),
  },
  {
    name: 'overlapping offsets',
    args: (s) => {
      const [[, first], [secondName]] = byOffset(s) as unknown as [[string, Entry], [string, Entry]];
      const w = edited(weightsOf(s), (h) => {
        const e = h[secondName]!;
        const length = e.data_offsets[1] - e.data_offsets[0];
        e.data_offsets = [first.data_offsets[0], first.data_offsets[0] + length];
      });
      return ['--model', modelWith(s, 'overlap', { weights: w }), '--input', s.input];
    },
    names: (s) => join(dir, s.family, 'overlap', 'model.safetensors'),
  },
  {
    name: 'unknown dtype',
    args: (s) => ['--model', modelWith(s, 'dtype', { weights: edited(weightsOf(s), (h) => (h[s.weight]!.dtype = 'F99')) }), '--input', s.input],
    names: (s) => join(dir, s.family, 'dtype', 'model.safetensors'),
  },
  {
    name: 'missing weight',
    args: (s) => {
      // Drop the last tensor from header and data, so the file stays well-formed.
      const [lastName, last] = byOffset(s)[byOffset(s).length - 1]!;
      const { header, data } = splitSafetensors(weightsOf(s));
      delete header[lastName];
      return ['--model', modelWith(s, 'missing-weight', { weights: joinSafetensors(header, data.subarray(0, last.data_offsets[0])) }), '--input', s.input];
    },
    names: (s) => byOffset(s)[byOffset(s).length - 1]![0],
  },
  {
    name: 'mis-shaped weight',
    args: (s) => ['--model', modelWith(s, 'mis-shaped', { weights: edited(weightsOf(s), (h) => (h[s.weight]!.shape = [...h[s.weight]!.shape].reverse())) }), '--input', s.input],
    names: (s) => s.weight,
  },
  {
    name: 'config.json not JSON',
    args: (s) => ['--model', modelWith(s, 'bad-config', { config: '{"architecture": vit' }), '--input', s.input],
    names: (s) => join(dir, s.family, 'bad-config', 'config.json'),
  },
  {
    name: 'missing model folder',
    args: (s) => ['--model', join(dir, 'no-such-model'), '--input', s.input],
    names: () => join(dir, 'no-such-model'),
  },
  {
    name: 'input of the wrong size',
    args: (s) => ['--model', s.model, '--input', file('small.npy', encodeNpy({ shape: [1, 3, 16, 16], data: new Float32Array(768) }))],
    names: () => join(dir, 'small.npy'),
  },
  {
    name: 'input with the wrong channel count',
    args: (s) => ['--model', s.model, '--input', file('gray.npy', encodeNpy({ shape: [1, 1, 32, 32], data: new Float32Array(1024) }))],
    names: () => join(dir, 'gray.npy'),
  },
  {
    name: 'a text file named .png',
    args: (s) => ['--model', s.model, '--input', file('notes.png', 'these are my notes, not an image\n')],
    names: () => join(dir, 'notes.png'),
  },
  {
    name: 'an empty .npy',
    args: (s) => ['--model', s.model, '--input', file('empty.npy', encodeNpy({ shape: [0], data: new Float32Array(0) }))],
    names: () => join(dir, 'empty.npy'),
  },
  {
    name: 'a missing input file',
    args: (s) => ['--model', s.model, '--input', join(dir, 'nowhere.npy')],
    names: () => join(dir, 'nowhere.npy'),
  },
  {
    name: 'a patch index out of range',
    args: (s) => ['--model', s.model, '--input', s.input, '--keep', '1,99'],
    names: () => '99',
  },
  {
    name: 'a patch index that is not a number',
    args: (s) => ['--model', s.model, '--input', s.input, '--keep', '1,two'],
    names: () => 'two',
  },
];

// Every limit exactly at its boundary: the first index past the end is refused, the last
// one accepted (a check written as > instead of >= lets the first through).
describe.each([
  { subject: vit, players: 16, images: 2 },
  { subject: resnet, players: 64, images: 2 },
])('indices at the boundary, $subject.family', ({ subject, players, images }) => {
  it(`--keep ${players} (one past the last patch) is refused, --keep ${players - 1} is not`, () => {
    const past = runCli(['predict', '--model', subject.model, '--input', subject.input, '--keep', `0,${players}`, '--json']);
    expect(past.code).toBe(2);
    expect(past.messages).toHaveLength(1);
    expect(past.messages[0]).toContain(`${players}`);
    const last = runCli(['predict', '--model', subject.model, '--input', subject.input, '--keep', `0,${players - 1}`, '--json']);
    expect(last.code, last.stderr).toBe(0);
  });

  it(`--image-index ${images} (one past the last image) is refused, --image-index ${images - 1} is not`, () => {
    const args = ['explain', '--model', subject.model, '--input', subject.input, '--method', 'shapley-self', '--grid', '2', '--json'];
    const past = runCli([...args, '--image-index', String(images)]);
    expect(past.code).toBe(2);
    expect(past.messages).toEqual([expect.stringMatching(new RegExp(`^moxi: --image-index: ${images} is out of range \\(.* holds ${images} image`))]);
    const last = runCli([...args, '--image-index', String(images - 1)]);
    expect(last.code, last.stderr).toBe(0);
  });
});

describe.each([vit, resnet])('bad input to a $family exits 2 with one line naming it', (subject) => {
  it.each(cases)('$name', ({ args, names }) => {
    const run = runCli(['predict', ...args(subject), '--json']);
    expect(run.code).toBe(2);
    expect(run.seconds).toBeLessThan(60);
    expect(run.stdout).toBe('');
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toContain(names(subject));
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

/** The bad-input contract: exit 2, one line on stderr naming `names`, nothing on stdout, no stack. */
function expectRefused(args: string[], ...names: Array<string | RegExp>): void {
  const run = runCli(args);
  expect(run.stdout).toBe('');
  expect(run.messages).toHaveLength(1);
  for (const name of names) {
    if (typeof name === 'string') expect(run.messages[0]).toContain(name);
    else expect(run.messages[0]).toMatch(name);
  }
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.code).toBe(2);
}

describe('a single-value option given twice is refused on every command, naming the flag', () => {
  const missing = join(dir, 'no-such-model');
  it.each([
    // explain's --input takes a list (several images or folders); --method takes one value.
    ['explain', ['explain', '--method', 'gradcam', '--method', 'rollout'], '--method'],
    ['predict', ['predict', '--input', 'a.png', '--input', 'b.png'], '--input'],
    ['predict (short and long form)', ['predict', '-m', missing, '--model', missing], '--model'],
    ['bench', ['bench', '--model', missing, '--batch', '1', '--batch', '2'], '--batch'],
    ['evaluate', ['evaluate', '--images', '5', '--images', '6'], '--images'],
    ['setsum evaluate', ['setsum', 'evaluate', '--data', dir, '--limit', '1', '--limit', '2'], '--limit'],
    ['inspect', ['inspect', '--arch', 'resnet18', '--arch', 'resnet50'], '--arch'],
  ])('%s', (_name, args, flag) => {
    expectRefused(args, `${flag}: given twice`, 'give it once');
  });

  it('writes nothing when setsum generate gets --out twice', () => {
    const [a, b] = [join(dir, 'twice-a'), join(dir, 'twice-b')];
    expectRefused(['setsum', 'generate', '--out', a, '--out', b, '--train', '0', '--test', '1'], '--out: given twice');
    expect(existsSync(a) || existsSync(b)).toBe(false);
  });

  it('leaves flags alone: --json twice is still fine', () => {
    const run = runCli(['inspect', '--model', vit.model, '--json', '--json']);
    expect(run.code).toBe(0);
  });
});

describe('output paths are checked before any work', () => {
  const missingModel = join(dir, 'no-such-model');
  const aFile = file('plain-file.txt', 'not a folder\n');
  it.each([
    ['explain --out in /proc', ['explain', '--model', missingModel, '--input', vit.input, '--out', '/proc/x.png'], ['--out', '/proc/x.png', 'cannot write into /proc']],
    ['explain --out under a file', ['explain', '--model', missingModel, '--input', vit.input, '--out', join(aFile, 'x.png')], ['--out', `${aFile} is a file, not a folder`]],
    ['explain --out that is a folder', ['explain', '--model', missingModel, '--input', vit.input, '--out', mkdirIn('folder.png')], ['--out', 'is a folder']],
    ['setsum evaluate --out in /proc', ['setsum', 'evaluate', '--model', missingModel, '--data', dir, '--out', '/proc/report.md'], ['--out', 'cannot write into /proc']],
    ['evaluate --out in /proc', ['evaluate', '--model', missingModel, '--data', dir, '--out', '/proc/eval'], ['--out', 'cannot write into /proc']],
    ['evaluate --out that is a file', ['evaluate', '--model', missingModel, '--data', dir, '--out', aFile], ['--out', 'is a file, not a folder']],
    ['setsum generate --out in /proc', ['setsum', 'generate', '--out', '/proc/setsum', '--test', '1'], ['--out', 'cannot write into /proc']],
  ])('%s', (_name, args, names) => {
    expectRefused(args as string[], ...(names as string[]));
  });
});

function mkdirIn(name: string): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  return path;
}

describe('setsum generate refuses bad counts and occupied folders, writing nothing', () => {
  it.each([
    [['--train', '-5'], '--train', '"-5" is not a non-negative integer'],
    [['--train', '1.5'], '--train', '"1.5" is not a non-negative integer'],
    [['--test', 'ten'], '--test', '"ten" is not a non-negative integer'],
    [['--train', '0', '--test', '0'], '--train', 'both 0'],
    [['--test', '99999999999999999999'], '--test', 'too large'],
    [['--train', '2000000'], '--train', 'at most 1,000,000'],
  ])('%j', (flags, flag, problem) => {
    const out = join(dir, 'never-written');
    expectRefused(['setsum', 'generate', '--out', out, ...flags], `${flag}: `, problem);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an --out that is a file (exit 2, not ENOTDIR)', () => {
    const path = file('setsum-out-file', 'x');
    expectRefused(['setsum', 'generate', '--out', path, '--train', '0', '--test', '1'], '--out', path, 'is a file, not a folder');
    expect(readFileSync(path, 'utf8')).toBe('x');
  });

  it('refuses a non-empty --out folder unless --force', () => {
    const out = mkdirIn('occupied');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    expectRefused(['setsum', 'generate', '--out', out, '--train', '0', '--test', '1'], '--out', 'not empty', '--force');
    expect(existsSync(join(out, 'test'))).toBe(false);
  });
});

describe('bench refuses a batch beyond the device limits before any pass', () => {
  it('names --batch and the largest batch that fits; nothing from Dawn on stdout', () => {
    const run = runCli(['bench', '--model', resnet.model, '--batch', '1,100000', '--iterations', '1']);
    expect(run.stdout).toBe('');
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toMatch(/--batch: 100000 images of 3x64x64 need a [\d.]+ GiB input buffer, over this device's max\w+ \([\d.]+ [MG]iB\); the largest batch that fits is \d+/);
    expect(run.code).toBe(2);
    expect(run.seconds).toBeLessThan(30);
    const largest = Number(/fits is (\d+)/.exec(run.messages[0]!)![1]);
    expect(largest).toBeGreaterThan(1);
    expect(largest).toBeLessThan(100000);
  });
});

describe('model files moxi cannot read get one line that says what to do', () => {
  it.each(['checkpoint.pt', 'checkpoint.pth', 'checkpoint.bin'])('a bare %s: the conversion to safetensors', (name) => {
    const path = file(name, 'PK\u0003\u0004 pickled');
    expectRefused(['inspect', '--model', path], path, 'safetensors.torch.save_file', '--arch');
  });

  it('a Hugging Face folder with only pytorch_model.bin: the conversion', () => {
    const folder = mkdirIn('hf-pickled');
    writeFileSync(join(folder, 'config.json'), '{"model_type": "vit"}');
    writeFileSync(join(folder, 'pytorch_model.bin'), 'PK');
    expectRefused(['inspect', '--model', folder], join(folder, 'pytorch_model.bin'), 'safetensors.torch.save_file', join(folder, 'model.safetensors'));
  });

  it('an unsupported architecture lists the supported ones', () => {
    expectRefused(['inspect', '--model', join(vit.model, 'model.safetensors'), '--arch', 'efficientnet_b0'], 'efficientnet_b0', 'not supported', 'vit_', 'deit3_', 'resnet18', 'resnet152');
  });

  it.each([
    ['an unknown preset', 'imagenet21k', '"imagenet21k" is not a preset'],
    ['an unknown key', 'scale=2', 'unknown key "scale"'],
    ['a zero std', 'std=0', '"0" is not a positive number'],
    ['two means', 'mean=0.5,mean=0.4', 'mean is given twice'],
    ['a bad size', 'size=big', 'size=big'],
  ])('--preprocess with %s', (_name, spec, problem) => {
    expectRefused(['inspect', '--model', vit.model, '--preprocess', spec], '--preprocess', problem);
  });
});

describe('shapley-exact refusals count coalitions as powers of two', () => {
  it('2^256 coalitions, not a rounded decimal', () => {
    const run = runCli(['explain', '--model', resnet.model, '--input', resnet.input, '--image-index', '0', '--method', 'shapley-exact', '--grid', '16', '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toContain('2^256 coalitions');
    expect(run.messages[0]).not.toMatch(/\d{1,3}(,\d{3}){6,}/);
  });
});

describe("models and batches past the device's limits are refused before anything is written", () => {
  it('a ViT whose one sequence needs more than a storage binding: predict names the folder, the size and the limit', () => {
    // 1024 px in 8 px patches: 16,385 tokens, whose attention scores alone are 1 GiB per image.
    const config: DeterministicVitConfig = { imgSize: 1024, patchSize: 8, inChans: 3, embedDim: 8, depth: 1, numHeads: 1, mlpRatio: 2, numClasses: 10, qkvBias: true };
    const folder = join(dir, 'long-sequence');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'config.json'), JSON.stringify(vitTimmConfigJson(config)));
    const tensors = Object.fromEntries([...deterministicVitWeights(config, 1)].map(([name, t]) => [name, { dtype: 'F32' as const, shape: t.shape, data: t.data }]));
    writeFileSync(join(folder, 'model.safetensors'), encodeSafetensors(tensors));
    expectRefused(
      ['predict', '--model', folder, '--input', EXAMPLE_IMAGE],
      `${folder}: one sequence of 16,385 tokens (attention scores of 1 heads x 16,385 x 16,385) needs 1024.1 MiB in one buffer; this device binds at most 128.0 MiB to a kernel (maxStorageBufferBindingSize)`,
    );
  });

  it('evaluate --batch-images past one buffer: refused with the largest count, and no --out folder made', () => {
    const out = join(dir, 'never-made');
    const data = join(dir, 'one-class');
    mkdirSync(join(data, 'cat'), { recursive: true });
    cpSync(EXAMPLE_IMAGE, join(data, 'cat', 'a.png'));
    expectRefused(
      ['evaluate', '--model', resnet.model, '--data', data, '--out', out, '--batch-images', '3000', '--methods', 'moxi'],
      '--batch-images: 3,000 images of 3x64x64 need 140.6 MiB in one buffer; this device holds 128.0 MiB (maxStorageBufferBindingSize), at most 2,730 images at once',
    );
    expect(existsSync(out)).toBe(false);
  });
});
