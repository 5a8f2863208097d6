import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, prepareModel, preprocessImage } from '@moxi/kernels';
import { decodeImage, readModelFiles } from '@moxi/kernels/node';
import { goldenLogits, materializeGoldenFolder, resnetGoldenFolders, VIT_FIXTURES, vitGoldenFolders } from '@moxi/kernels/testing';
import { runCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'moxi-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const smallTimm = join(VIT_FIXTURES, 'small-timm');

describe('moxi predict', () => {
  it('takes a [2, 3, 224, 224] batch for ViT-Tiny and matches PyTorch on both rows (2e-3 bound, 1e-4 held)', () => {
    const folder = vitGoldenFolders().find((f) => f.name === 'vit-tiny')!;
    const full = folder.cases.find((c) => c.name === 'full')!;
    const { model, input } = materializeGoldenFolder(folder, full, dir);
    const run = runCli(['predict', '--model', model, '--input', input, '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { logits: number[][] };
    const expected = goldenLogits(folder, full).data;
    expect(out.logits).toHaveLength(2);
    const diff = out.logits.flat().reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
    expect(diff).toBeLessThan(1e-4);
  });

  it('preprocesses a PNG exactly as the library does for the same folder (1e-6)', () => {
    const hf = join(VIT_FIXTURES, 'small-hf');
    const png = new PNG({ width: 45, height: 37 });
    for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37 + (i >> 7) * 11) & 255;
    const pngPath = join(dir, 'picture.png');
    writeFileSync(pngPath, PNG.sync.write(png));
    const prepared = prepareModel(readModelFiles(hf));
    const tensor = preprocessImage(decodeImage(new Uint8Array(readFileSync(pngPath)), pngPath), prepared.preprocessing!);
    const npyPath = join(dir, 'picture.npy');
    writeFileSync(npyPath, encodeNpy(tensor));
    const fromPng = JSON.parse(runCli(['predict', '--model', hf, '--input', pngPath, '--json']).stdout) as { logits: number[][]; top: Array<Array<{ label: string }>> };
    const fromNpy = JSON.parse(runCli(['predict', '--model', hf, '--input', npyPath, '--json']).stdout) as { logits: number[][] };
    const diff = fromPng.logits[0]!.reduce((m, v, i) => Math.max(m, Math.abs(v - fromNpy.logits[0]![i]!)), 0);
    expect(diff).toBeLessThan(1e-6);
    // Labels come from the folder's id2label.
    expect(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']).toContain(fromPng.top[0]![0]!.label);
  });

  it('prints a readable table without --json', () => {
    const run = runCli(['predict', '--model', smallTimm, '--input', join(smallTimm, 'input.npy'), '--topk', '2']);
    expect(run.code).toBe(0);
    const expected = goldenLogits(vitGoldenFolders().find((f) => f.name === 'small-timm')!, { name: 'full', input: 'input.npy', logits: 'logits.npy', mask: null }).data;
    const best = Array.from(expected.subarray(0, 10)).indexOf(Math.max(...expected.subarray(0, 10)));
    expect(run.stdout.split('\n')[0]).toBe('image 0:');
    expect(run.stdout.split('\n')[1]!.trim().split(/\s+/)[0]).toBe(String(best));
  });
});

describe('moxi inspect', () => {
  it('reports the architecture, parameter count and preprocessing of a timm folder', () => {
    const run = runCli(['inspect', '--model', smallTimm, '--json']);
    expect(run.code).toBe(0);
    const info = JSON.parse(run.stdout);
    // 32 px, patch 8, dim 24, depth 3, mlp 96, 10 classes: counted by hand from timm's modules.
    const D = 24;
    const block = 4 * D + (3 * D * D + 3 * D) + (D * D + D) + (D * 96 + 96) + (96 * D + D);
    const expected = 3 * 8 * 8 * D + D + D + 17 * D + 3 * block + 2 * D + 10 * D + 10;
    expect(info.parameters).toBe(expected);
    expect(info.format).toBe('timm');
    expect(info.grid).toEqual([4, 4]);
    expect(info.inputShape).toEqual([3, 32, 32]);
    expect(info.weightDtypes).toEqual(['F32']);
    expect(info.preprocessing.interpolation).toBe('bicubic');
  });
});

describe('moxi doctor', () => {
  it('describes the adapter, its features and limits, the attention path, and measures the matmul ceiling', () => {
    const json = runCli(['doctor', '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    // CI and this machine run lavapipe: a software rasteriser, which gets the warning and the three-dispatch attention.
    expect(report.adapter.isSoftware).toBe(true);
    expect(report.attention).toBe('three dispatches');
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatch(/^this adapter is a software rasteriser/);
    expect(typeof report.features.shaderF16).toBe('boolean');
    expect(report.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(report.matmulCeiling.shapes.map((s: { M: number; K: number; N: number }) => [s.M, s.K, s.N])).toEqual([[1576, 192, 576], [1576, 192, 768], [1576, 768, 192], [512, 512, 512]]);
    for (const s of report.matmulCeiling.shapes) expect(s.gflopsPerSecond).toBeGreaterThan(0);
    const text = runCli(['doctor']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s{2,}/)[0])).toEqual(['adapter', 'kind', 'features', 'limits', 'attention', 'vulkan drivers', 'matmul ceiling', 'warning']);
    expect(lines[1]).toBe('kind            software rasteriser (runs on the CPU)');
    expect(lines[6]).toMatch(/^matmul ceiling  \d+\.\d GFLOP\/s \(best of 1576x192x576: /);
  });
});

describe('moxi bench', () => {
  it('reports images/s and GFLOP/s consistent with its timings and the model FLOPs', () => {
    const run = runCli(['bench', '--model', smallTimm, '--batch', '2,3', '--iterations', '2', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.device.vendor).toBeTypeOf('string');
    // FLOPs of one 32x32 image through small-timm (T = 17 tokens), counted independently.
    const T = 17;
    const D = 24;
    const block = 2 * T * D * 3 * D + 4 * T * T * D + 2 * T * D * D + 4 * T * D * 96;
    const flops = 2 * 16 * 192 * D + 3 * block + 2 * D * 10;
    expect(report.model.gflopsPerImage * 1e9).toBeCloseTo(flops, 0);
    // A ViT on an adapter with shader-f16 (lavapipe has it): both precisions, side by side.
    expect(report.device.features.shaderF16).toBe(true);
    expect(report.results.map((r: { batch: number; precision: string }) => `${r.precision} ${r.batch}`)).toEqual(['f32 2', 'f32 3', 'f16 2', 'f16 3']);
    for (const r of report.results) {
      expect(r.imagesPerSecond * r.msPerBatch.median / 1000).toBeCloseTo(r.batch, 6);
      expect(r.gflopsPerSecond).toBeCloseTo(r.imagesPerSecond * report.model.gflopsPerImage, 6);
      expect(r.msPerBatch.min).toBeLessThanOrEqual(r.msPerBatch.median);
      // The share of the matmul ceiling measured in the same run (moxi doctor's calibration).
      expect(r.shareOfCeiling).toBeCloseTo(r.gflopsPerSecond / report.matmulCeiling.gflopsPerSecond, 9);
    }
    expect(report.matmulCeiling.shapes).toHaveLength(4);
    expect(report.matmulCeiling.gflopsPerSecond).toBe(Math.max(...report.matmulCeiling.shapes.map((s: { gflopsPerSecond: number }) => s.gflopsPerSecond)));
  });

  it('lists per-kernel GPU times of one batch with --profile where timestamps exist, for every batch size', () => {
    const run = runCli(['bench', '--model', smallTimm, '--batch', '1,3', '--iterations', '2', '--profile', '--precision', 'f32', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    // lavapipe offers timestamp-query; each of the 3 blocks runs one qkv projection per
    // forward pass, whatever the batch size and however many timed passes came before.
    expect(report.device.features.timestampQuery).toBe(true);
    expect(report.results).toHaveLength(2);
    for (const r of report.results) {
      const kernels = r.kernels as Array<{ label: string; callsPerBatch: number; msPerBatch: number }>;
      expect(kernels.find((k) => k.label === 'qkv')?.callsPerBatch).toBe(3);
      expect(kernels.find((k) => k.label === 'head')?.callsPerBatch).toBe(1);
      // One profiled pass per batch size (the call counts above). No bound against wall time:
      // a profiled pass on a busy 2-core machine is no timing test. Tiny kernels may read 0.
      expect(kernels.every((k) => k.msPerBatch >= 0)).toBe(true);
      expect(kernels.reduce((a, k) => a + k.msPerBatch, 0)).toBeGreaterThan(0);
    }
  });

  it('labels the kernel columns as per batch in the table', () => {
    const run = runCli(['bench', '--model', smallTimm, '--batch', '2', '--iterations', '1', '--profile', '--precision', 'f32']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/kernel +calls\/batch +GPU ms\/batch/);
    expect(run.stdout).toMatch(/ qkv +3 +\d+\.\d\d\n/);
    expect(run.stdout).toMatch(/all kernels +\d+\.\d\d {2}\(one profiled pass of 2 images/);
  });

  it('takes --warmup 0 (every pass timed)', () => {
    const run = runCli(['bench', '--model', smallTimm, '--batch', '1', '--iterations', '2', '--warmup', '0', '--precision', 'f16', '--json']);
    expect(run.messages).toEqual([expect.stringMatching(/^matmul ceiling of this adapter: [\d.]+ GFLOP\/s$/), expect.stringMatching(/^f16 batch 1: [\d.]+ images\/s/)]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.results[0].iterations).toBe(2);
    expect(report.results[0].imagesPerSecond).toBeGreaterThan(0);
  });
});

describe('ResNets on the CLI', () => {
  const folder = resnetGoldenFolders().find((f) => f.name === 'resnet18')!;
  const small = resnetGoldenFolders().find((f) => f.name === 'resnet18-64px-10')!;

  it('inspect counts ResNet-18 parameters as torchvision does (11,689,512)', () => {
    const { model } = materializeGoldenFolder(folder, folder.cases[0]!, dir);
    const info = JSON.parse(runCli(['inspect', '--model', model, '--json']).stdout);
    expect(info.family).toBe('resnet');
    expect(info.parameters).toBe(11_689_512);
    expect(info.grid).toEqual([14, 14]);
  });

  it('bench reports the published ResNet-18 cost (1.81 GMACs = 3.63 GFLOP per 224 image)', () => {
    const { model } = materializeGoldenFolder(folder, folder.cases[0]!, dir);
    const report = JSON.parse(runCli(['bench', '--model', model, '--batch', '1', '--iterations', '1', '--json']).stdout);
    expect(report.model.gflopsPerImage).toBeGreaterThan(3.62);
    expect(report.model.gflopsPerImage).toBeLessThan(3.65);
    expect(report.results[0].imagesPerSecond).toBeGreaterThan(0);
  });

  it.each([
    [['--keep', '0,1', '--grid', '5'], '--grid', '5x5 does not divide the 64x64 input'],
    [['--keep', '0,1', '--mask-mode', 'token'], '--mask-mode', 'token masking needs a ViT; a CNN takes pixel masking'],
    [['--keep', '70'], '--keep', 'patch index 70 is out of range (the grid has 64 patches'],
  ])('refuses %j with exit 2 naming %s', (flags, flag, problem) => {
    const { model, input } = materializeGoldenFolder(small, small.cases[0]!, dir);
    const run = runCli(['predict', '--model', model, '--input', input, ...flags]);
    expect(run.code).toBe(2);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toContain(flag);
    expect(run.messages[0]).toContain(problem);
  });
});

describe('--preprocess for a bare .safetensors file', () => {
  const folder = resnetGoldenFolders().find((f) => f.name === 'resnet18')!;
  const bare = () => join(materializeGoldenFolder(folder, folder.cases[0]!, dir).model, 'model.safetensors');
  const png = () => {
    const path = join(dir, 'preprocess.png');
    const image = new PNG({ width: 40, height: 30 });
    for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 53 + (i >> 6) * 7) & 255;
    writeFileSync(path, PNG.sync.write(image));
    return path;
  };

  it('says on stderr, in one line, that it uses ImageNet preprocessing and how to choose another', () => {
    const run = runCli(['inspect', '--model', bare(), '--arch', 'resnet18', '--json']);
    expect(run.code).toBe(0);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toMatch(/a bare \.safetensors file has no preprocessing config; images get ImageNet's \(short side to 256 \(bicubic\), center crop 224x224, .*mean 0\.485,0\.456,0\.406, std 0\.229,0\.224,0\.225\); choose another with --preprocess/);
    expect(JSON.parse(run.stdout).preprocessing.mean).toEqual([0.485, 0.456, 0.406]);
  });

  it.each([
    ['none', { mean: [0, 0, 0], std: [1, 1, 1], size: 256 }],
    ['inception', { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], size: 256 }],
    ['mean=0.5,std=0.25,0.5,0.75,size=224', { mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 0.75], size: 224 }],
    ['inception,size=240', { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], size: 240 }],
  ])('--preprocess %s', (spec, expected) => {
    const run = runCli(['inspect', '--model', bare(), '--arch', 'resnet18', '--preprocess', spec, '--json']);
    expect(run.messages).toEqual([]);
    expect(run.code).toBe(0);
    const p = JSON.parse(run.stdout).preprocessing;
    expect(p.mean).toEqual(expected.mean);
    expect(p.std).toEqual(expected.std);
    expect(p.resize).toEqual({ mode: 'shortest-edge', size: expected.size });
    expect(p.centerCrop).toMatchObject({ height: 224, width: 224 });
  });

  it('predict uses it: imagenet is the default, none gives other logits', () => {
    const input = png();
    const logits = (extra: string[]) => {
      const run = runCli(['predict', '--model', bare(), '--arch', 'resnet18', '--input', input, '--json', ...extra]);
      expect(run.code).toBe(0);
      return (JSON.parse(run.stdout) as { logits: number[][] }).logits[0]!;
    };
    const byDefault = logits([]);
    expect(logits(['--preprocess', 'imagenet'])).toEqual(byDefault);
    expect(logits(['--preprocess', 'none'])).not.toEqual(byDefault);
  });
});

describe('moxi setsum generate --force', () => {
  it('writes into a non-empty folder when asked to', () => {
    const out = join(dir, 'setsum-force');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'notes.txt'), 'mine');
    expect(runCli(['setsum', 'generate', '--out', out, '--train', '0', '--test', '2']).code).toBe(2);
    const run = runCli(['setsum', 'generate', '--out', out, '--train', '0', '--test', '2', '--force', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).counts).toEqual({ test: 2 });
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(out, 'test', 'labels.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
  });
});

describe('a batch past the device limits', () => {
  it('runs in groups of images instead of failing on the device: every prediction as a one-image run gives it', (ctx) => {
    // Pixel masking binds a ViT's whole input batch to one shader: a batch just past the
    // device's maxStorageBufferBindingSize failed validation on the device before
    // (WebGPU error, exit 1); it now runs as two groups of images.
    const probe = runCli(['bench', '--model', smallTimm, '--batch', '1', '--iterations', '1', '--warmup', '0', '--json']);
    const limit = JSON.parse(probe.stdout).device.limits.maxStorageBufferBindingSize as number;
    const perImage = 3 * 32 * 32 * 4;
    const images = Math.floor(limit / perImage) + 1;
    // A device with a large binding limit: nothing to provoke cheaply; reported skipped, not passed.
    if (images * perImage > 512 * 2 ** 20) ctx.skip(`the device binds ${limit} bytes to a shader: a batch past it is too large to provoke cheaply`);
    // Two different images, alternating, so a row fed the wrong image shows.
    const data = new Float32Array(images * 3 * 32 * 32);
    for (let i = 0; i < images; i += 2) data.fill(0.5, i * 3072, (i + 1) * 3072);
    const input = join(dir, 'past-binding-limit.npy');
    writeFileSync(input, encodeNpy({ shape: [images, 3, 32, 32], data }));
    const args = ['--keep', '0,5', '--mask-mode', 'pixel', '--grid', '4', '--json'];
    const run = runCli(['predict', '--model', smallTimm, '--input', input, ...args]);
    rmSync(input);
    expect(run.messages).toEqual([]);
    expect(run.code).toBe(0);
    const logits = JSON.parse(run.stdout).logits as number[][];
    expect(logits).toHaveLength(images);
    const one = (value: number) => {
      const single = join(dir, `single-${value}.npy`);
      writeFileSync(single, encodeNpy({ shape: [1, 3, 32, 32], data: new Float32Array(3072).fill(value) }));
      return (JSON.parse(runCli(['predict', '--model', smallTimm, '--input', single, ...args]).stdout).logits as number[][])[0]!;
    };
    const [half, zero] = [one(0.5), one(0)];
    expect(Math.max(...half.map((v, c) => Math.abs(v - zero[c]!)))).toBeGreaterThan(1e-3);
    for (const i of [0, 1, images - 2, images - 1]) {
      const want = i % 2 === 0 ? half : zero;
      expect(Math.max(...logits[i]!.map((v, c) => Math.abs(v - want[c]!))), `image ${i}`).toBeLessThan(1e-5);
    }
  });
});
