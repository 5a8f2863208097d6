import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/io/input-error.ts';
import { encodeSafetensors } from '../../src/io/safetensors.ts';
import { prepareModel } from '../../src/models/load-model.ts';
import { readModelFiles } from '../../src/node/model-folder.ts';
import { goldenInput, goldenLogits, goldenWeights, resnetGoldenFolders, thrownBy, vitGoldenFolders, type GoldenFolder } from '../../src/testing/index.ts';
import { maxAbsDiff, testEngine } from '../helpers/gpu.ts';

// Checkpoint layouts beyond the golden folders: sharded safetensors, a bare file with
// --arch, F16 storage, and Hugging Face DeiT names, each checked against the PyTorch
// goldens of the same weights (1e-4 absolute, as in vit-goldens.test.ts; 3e-3 for F16).
const dir = mkdtempSync(join(tmpdir(), 'moxi-folders-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Tensors = Record<string, { dtype: 'F32' | 'F16'; shape: number[]; data: Float32Array }>;

function goldenTensors(name: string, dtype: 'F32' | 'F16' = 'F32'): { tensors: Tensors; folder: GoldenFolder } {
  const folder = vitGoldenFolders().find((f) => f.name === name)!;
  const tensors: Tensors = {};
  for (const [k, t] of goldenWeights(folder)) tensors[k] = { dtype, shape: t.shape, data: t.data };
  return { tensors, folder };
}

async function logitsOf(location: string, arch: string | undefined, folderName: string): Promise<number> {
  const folder = vitGoldenFolders().find((f) => f.name === folderName)!;
  const full = folder.cases.find((c) => c.name === 'full')!;
  const model = prepareModel(readModelFiles(location, arch)).instantiate(await testEngine());
  try {
    const result = await model.forward(goldenInput(folder, full));
    return maxAbsDiff(result.logits, goldenLogits(folder, full).data);
  } finally {
    model.destroy();
  }
}

describe('model folders', () => {
  it('reads a sharded checkpoint through model.safetensors.index.json', async () => {
    const { tensors, folder } = goldenTensors('small-timm');
    const path = join(dir, 'sharded');
    mkdirSync(path);
    writeFileSync(join(path, 'config.json'), JSON.stringify({ architecture: 'vit_tiny_patch16_224', model_args: { img_size: 32, patch_size: 8, embed_dim: 24, depth: 3, num_heads: 3, num_classes: 10 } }));
    const names = Object.keys(tensors);
    const halves = [names.slice(0, names.length >> 1), names.slice(names.length >> 1)];
    const weightMap: Record<string, string> = {};
    halves.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(join(path, file), encodeSafetensors(Object.fromEntries(part.map((n) => [n, tensors[n]!]))));
      for (const n of part) weightMap[n] = file;
    });
    writeFileSync(join(path, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    expect(folder.name).toBe('small-timm');
    expect(await logitsOf(path, undefined, 'small-timm')).toBeLessThan(1e-4);
  });

  it('refuses a shard index whose weight_map leaves the folder or is not file names, even where the path exists', () => {
    // A real safetensors file outside the model folder, which a path in the index could reach.
    const outside = join(dir, 'outside.safetensors');
    writeFileSync(outside, encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }));
    const path = join(dir, 'escaping');
    mkdirSync(join(path, 'sub.safetensors'), { recursive: true });
    writeFileSync(join(path, 'config.json'), '{}');
    const index = join(path, 'model.safetensors.index.json');
    const refusal = (weightMap: unknown) => {
      writeFileSync(index, JSON.stringify({ weight_map: weightMap }));
      return thrownBy(() => readModelFiles(path), InputError).message;
    };
    const named = (target: string) => `${index}: weight_map maps "w" to ${target}; shards must be .safetensors files in the same folder, named without a path`;
    expect(refusal({ w: '../outside.safetensors' })).toBe(named('"../outside.safetensors"'));
    expect(refusal({ w: outside })).toBe(named(JSON.stringify(outside)));
    expect(refusal({ w: 'sub.safetensors/../../outside.safetensors' })).toBe(named('"sub.safetensors/../../outside.safetensors"'));
    expect(refusal({ w: '..\\outside.safetensors' })).toBe(named('"..\\\\outside.safetensors"'));
    expect(refusal({ w: 7 })).toBe(named('7'));
    expect(refusal({ w: null })).toBe(named('null'));
    expect(refusal({ w: 'model.bin' })).toBe(named('"model.bin"'));
    expect(refusal(['model.safetensors'])).toBe(`${index}: needs a "weight_map" object from tensor names to shard files (e.g. "model-00001-of-00002.safetensors")`);
    expect(refusal({})).toBe(`${index}: has no weight_map entries`);
    // A name without a path that is a folder, not a file.
    expect(refusal({ w: 'sub.safetensors' })).toBe(`${join(path, 'sub.safetensors')}: shard listed in model.safetensors.index.json is not a file`);
    writeFileSync(index, 'null');
    expect(thrownBy(() => readModelFiles(path), InputError).message).toBe(`${index}: needs a "weight_map" object from tensor names to shard files (e.g. "model-00001-of-00002.safetensors")`);
  });

  it('reads a bare .safetensors file with --arch (default timm sizes)', async () => {
    // ViT-Tiny needs no model_args: everything comes from the architecture name.
    const { tensors } = goldenTensors('vit-tiny');
    const file = join(dir, 'vit-tiny.safetensors');
    writeFileSync(file, encodeSafetensors(tensors));
    expect(await logitsOf(file, 'vit_tiny_patch16_224', 'vit-tiny')).toBeLessThan(1e-4);
  });

  it('computes in f32 from F16 weights (error from f16 rounding of the weights only, < 3e-3)', async () => {
    const { tensors } = goldenTensors('small-timm', 'F16');
    const path = join(dir, 'f16');
    mkdirSync(path);
    writeFileSync(join(path, 'config.json'), JSON.stringify({ architecture: 'vit_tiny_patch16_224', model_args: { img_size: 32, patch_size: 8, embed_dim: 24, depth: 3, num_heads: 3, num_classes: 10 } }));
    writeFileSync(join(path, 'model.safetensors'), encodeSafetensors(tensors));
    const diff = await logitsOf(path, undefined, 'small-timm');
    expect(diff).toBeGreaterThan(1e-6);
    expect(diff).toBeLessThan(3e-3);
  });

  it('maps Hugging Face DeiTForImageClassificationWithTeacher names onto the distilled timm model', async () => {
    const { tensors } = goldenTensors('small-deit-distilled');
    const D = 24;
    const hf: Tensors = {};
    const put = (name: string, t: { shape: number[]; data: Float32Array }) => (hf[name] = { dtype: 'F32', shape: t.shape, data: t.data });
    const e = 'deit.embeddings';
    put(`${e}.cls_token`, tensors.cls_token!);
    put(`${e}.distillation_token`, tensors.dist_token!);
    put(`${e}.position_embeddings`, tensors.pos_embed!);
    put(`${e}.patch_embeddings.projection.weight`, tensors['patch_embed.proj.weight']!);
    put(`${e}.patch_embeddings.projection.bias`, tensors['patch_embed.proj.bias']!);
    for (let i = 0; i < 3; i++) {
      const t = (n: string) => tensors[`blocks.${i}.${n}`]!;
      const l = `deit.encoder.layer.${i}`;
      ['query', 'key', 'value'].forEach((part, j) => {
        put(`${l}.attention.attention.${part}.weight`, { shape: [D, D], data: t('attn.qkv.weight').data.slice(j * D * D, (j + 1) * D * D) });
        put(`${l}.attention.attention.${part}.bias`, { shape: [D], data: t('attn.qkv.bias').data.slice(j * D, (j + 1) * D) });
      });
      put(`${l}.attention.output.dense.weight`, t('attn.proj.weight'));
      put(`${l}.attention.output.dense.bias`, t('attn.proj.bias'));
      put(`${l}.intermediate.dense.weight`, t('mlp.fc1.weight'));
      put(`${l}.intermediate.dense.bias`, t('mlp.fc1.bias'));
      put(`${l}.output.dense.weight`, t('mlp.fc2.weight'));
      put(`${l}.output.dense.bias`, t('mlp.fc2.bias'));
      put(`${l}.layernorm_before.weight`, t('norm1.weight'));
      put(`${l}.layernorm_before.bias`, t('norm1.bias'));
      put(`${l}.layernorm_after.weight`, t('norm2.weight'));
      put(`${l}.layernorm_after.bias`, t('norm2.bias'));
    }
    put('deit.layernorm.weight', tensors['norm.weight']!);
    put('deit.layernorm.bias', tensors['norm.bias']!);
    put('cls_classifier.weight', tensors['head.weight']!);
    put('cls_classifier.bias', tensors['head.bias']!);
    put('distillation_classifier.weight', tensors['head_dist.weight']!);
    put('distillation_classifier.bias', tensors['head_dist.bias']!);
    const path = join(dir, 'hf-deit');
    mkdirSync(path);
    writeFileSync(join(path, 'config.json'), JSON.stringify({
      model_type: 'deit', architectures: ['DeiTForImageClassificationWithTeacher'], hidden_size: D, num_hidden_layers: 3,
      num_attention_heads: 3, intermediate_size: 96, hidden_act: 'gelu', layer_norm_eps: 1e-6, image_size: 32, patch_size: 8,
      num_channels: 3, qkv_bias: true, id2label: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), `class ${i}`])),
    }));
    writeFileSync(join(path, 'model.safetensors'), encodeSafetensors(hf));
    expect(await logitsOf(path, undefined, 'small-deit-distilled')).toBeLessThan(1e-4);
  });

  it('maps Hugging Face ResNetForImageClassification names onto torchvision ResNet-18 (2e-4)', async () => {
    const folder = resnetGoldenFolders().find((f) => f.name === 'resnet18-64px-10')!;
    const tv = goldenWeights(folder);
    const hf: Tensors = {};
    const put = (to: string, from: string) => {
      const t = tv.get(from)!;
      hf[to] = { dtype: 'F32', shape: t.shape, data: t.data };
    };
    const convBn = (to: string, conv: string, bn: string) => {
      put(`${to}.convolution.weight`, `${conv}.weight`);
      for (const p of ['weight', 'bias', 'running_mean', 'running_var']) put(`${to}.normalization.${p}`, `${bn}.${p}`);
    };
    convBn('resnet.embedder.embedder', 'conv1', 'bn1');
    for (let s = 0; s < 4; s++)
      for (let b = 0; b < 2; b++) {
        const l = `resnet.encoder.stages.${s}.layers.${b}`;
        const t = `layer${s + 1}.${b}`;
        convBn(`${l}.layer.0`, `${t}.conv1`, `${t}.bn1`);
        convBn(`${l}.layer.1`, `${t}.conv2`, `${t}.bn2`);
        if (s > 0 && b === 0) convBn(`${l}.shortcut`, `${t}.downsample.0`, `${t}.downsample.1`);
      }
    put('classifier.1.weight', 'fc.weight');
    put('classifier.1.bias', 'fc.bias');
    // HF checkpoints carry the int64 BatchNorm counters; they must be ignored.
    const counter = 'resnet.embedder.embedder.normalization.num_batches_tracked';
    const path = join(dir, 'hf-resnet');
    mkdirSync(path);
    writeFileSync(join(path, 'config.json'), JSON.stringify({
      model_type: 'resnet', architectures: ['ResNetForImageClassification'], embedding_size: 64, hidden_sizes: [64, 128, 256, 512],
      depths: [2, 2, 2, 2], layer_type: 'basic', hidden_act: 'relu', downsample_in_first_stage: false, num_channels: 3,
      id2label: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), `class ${i}`])),
    }));
    writeFileSync(join(path, 'preprocessor_config.json'), JSON.stringify({
      image_processor_type: 'ConvNextImageProcessor', do_resize: true, size: { shortest_edge: 64 }, crop_pct: 0.875, resample: 3,
      do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225],
    }));
    writeFileSync(join(path, 'model.safetensors'), withCounter(encodeSafetensors(hf), counter));
    const full = folder.cases.find((c) => c.name === 'full')!;
    const prepared = prepareModel(readModelFiles(path));
    expect(prepared.info.family).toBe('resnet');
    expect(prepared.info.inputShape).toEqual([3, 64, 64]);
    const model = prepared.instantiate(await testEngine());
    const result = await model.forward(goldenInput(folder, full));
    model.destroy();
    expect(maxAbsDiff(result.logits, goldenLogits(folder, full).data)).toBeLessThan(2e-4);
  });

  it.each([
    ['a pickled checkpoint', (p: string) => writeFileSync(join(p, 'pytorch_model.bin'), 'PK'), 'pytorch_model.bin', 'safetensors.torch.save_file'],
    ['no weights at all', () => undefined, 'has no model.safetensors', 'config.json + model.safetensors'],
  ])('explains %s', (_, setUp, names, fix) => {
    const path = join(dir, `no-weights-${names.length}`);
    mkdirSync(path);
    writeFileSync(join(path, 'config.json'), '{"architecture": "vit_tiny_patch16_224"}');
    setUp(path);
    expect(() => readModelFiles(path)).toThrow(InputError);
    expect(() => readModelFiles(path)).toThrow(names);
    expect(() => readModelFiles(path)).toThrow(fix);
  });

  it('refuses an architecture it does not implement, naming it', () => {
    const path = join(dir, 'swin');
    mkdirSync(path);
    writeFileSync(join(path, 'config.json'), '{"architecture": "swin_tiny_patch4_window7_224"}');
    writeFileSync(join(path, 'model.safetensors'), encodeSafetensors({}));
    expect(() => prepareModel(readModelFiles(path))).toThrow('swin_tiny_patch4_window7_224');
  });
});

/** Appends an I64 scalar tensor to a safetensors file (the encoder writes floats only). */
function withCounter(file: Uint8Array, name: string): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength)));
  const data = file.subarray(8 + headerLength);
  header[name] = { dtype: 'I64', shape: [], data_offsets: [data.length, data.length + 8] };
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length + 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  new DataView(out.buffer).setBigInt64(8 + text.length + data.length, 42n, true);
  return out;
}
