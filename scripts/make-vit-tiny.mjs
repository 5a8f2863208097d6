#!/usr/bin/env node
// Writes a timm ViT-Tiny/16-224 model folder with seeded random weights: config.json
// (architecture vit_tiny_patch16_224, 1000 classes, pretrained_cfg) and model.safetensors
// under timm's parameter names, and optionally a seeded input batch as .npy. Plain Node
// (no workspace sources, no packages), so the portable archive's node runs it where there
// is no Node.js: moxi-*/lib/node/node scripts/make-vit-tiny.mjs DIR
//
// The weights are the hash-based ones of packages/kernels/src/testing/deterministic-weights.ts
// (deterministicVitWeights with the same seed gives the same bits): linear and conv weights
// uniform with variance 1 / fan_in, biases in +-0.1, norm weights 1 +- 0.2, embeddings
// +-0.5. The f16 tolerance of the kernels' tests was measured on exactly these.
//
// usage: make-vit-tiny.mjs DIR [--seed N] [--input FILE.npy] [--batch B]
//   --seed N      weight seed (default 1)
//   --input FILE  also write a seeded input batch [B, 3, 224, 224] in [-1, 1) (float32 .npy)
//   --batch B     images in that batch (default 4)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CONFIG = { imgSize: 224, patchSize: 16, inChans: 3, embedDim: 192, depth: 12, numHeads: 3, mlpRatio: 4, numClasses: 1000, qkvBias: true };

function fnv1a32(name) {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

function lowbias32(x) {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Element i of tensor `name`: offset + scale * (2 * lowbias32(i * 0x9E3779B1 + fnv1a32(name) + seed) / 2^32 - 1). */
function deterministicTensor(name, count, seed, scale, offset) {
  const data = new Float32Array(count);
  const base = (fnv1a32(name) + seed) >>> 0;
  for (let i = 0; i < count; i++) {
    const u = lowbias32(Math.imul(i, 0x9e3779b1) + base) / 4294967296;
    data[i] = offset + scale * (2 * u - 1);
  }
  return data;
}

function paramInit(kind, shape) {
  switch (kind) {
    case 'weight': return { scale: Math.sqrt(3 / shape.slice(1).reduce((a, b) => a * b, 1)), offset: 0 };
    case 'bias': return { scale: 0.1, offset: 0 };
    case 'norm-weight': return { scale: 0.2, offset: 1 };
    case 'embed': return { scale: 0.5, offset: 0 };
    default: throw new Error(kind);
  }
}

/** [name, shape, kind] of every parameter of a timm VisionTransformer (class token, token pooling). */
function vitParamSpecs(c) {
  const d = c.embedDim;
  const hidden = Math.floor(d * c.mlpRatio);
  const tokens = (c.imgSize / c.patchSize) ** 2 + 1;
  const specs = [
    ['cls_token', [1, 1, d], 'embed'],
    ['pos_embed', [1, tokens, d], 'embed'],
    ['patch_embed.proj.weight', [d, c.inChans, c.patchSize, c.patchSize], 'weight'],
    ['patch_embed.proj.bias', [d], 'bias'],
  ];
  for (let i = 0; i < c.depth; i++) {
    const p = `blocks.${i}.`;
    specs.push([`${p}norm1.weight`, [d], 'norm-weight'], [`${p}norm1.bias`, [d], 'bias']);
    specs.push([`${p}attn.qkv.weight`, [3 * d, d], 'weight']);
    if (c.qkvBias) specs.push([`${p}attn.qkv.bias`, [3 * d], 'bias']);
    specs.push([`${p}attn.proj.weight`, [d, d], 'weight'], [`${p}attn.proj.bias`, [d], 'bias']);
    specs.push([`${p}norm2.weight`, [d], 'norm-weight'], [`${p}norm2.bias`, [d], 'bias']);
    specs.push([`${p}mlp.fc1.weight`, [hidden, d], 'weight'], [`${p}mlp.fc1.bias`, [hidden], 'bias']);
    specs.push([`${p}mlp.fc2.weight`, [d, hidden], 'weight'], [`${p}mlp.fc2.bias`, [d], 'bias']);
  }
  specs.push(['norm.weight', [d], 'norm-weight'], ['norm.bias', [d], 'bias']);
  specs.push(['head.weight', [c.numClasses, d], 'weight'], ['head.bias', [c.numClasses], 'bias']);
  return specs;
}

/** safetensors: u64 LE header length, JSON header (names, dtypes, shapes, byte ranges), raw little-endian data. */
function safetensors(tensors) {
  const header = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const { name, shape, data } of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // data starts 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([head, Buffer.from(json, 'ascii'), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}

/** numpy .npy version 1.0, float32 little-endian, C order. */
function npy(shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'; // magic + header a multiple of 64 bytes
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

function timmConfig(c) {
  return {
    architecture: 'vit_tiny_patch16_224',
    num_classes: c.numClasses,
    num_features: c.embedDim,
    global_pool: 'token',
    model_args: {
      img_size: c.imgSize, patch_size: c.patchSize, in_chans: c.inChans, embed_dim: c.embedDim, depth: c.depth,
      num_heads: c.numHeads, mlp_ratio: c.mlpRatio, num_classes: c.numClasses, qkv_bias: c.qkvBias,
    },
    pretrained_cfg: {
      tag: 'moxi_deterministic',
      custom_load: false,
      input_size: [c.inChans, c.imgSize, c.imgSize],
      fixed_input_size: true,
      interpolation: 'bicubic',
      crop_pct: 0.9,
      crop_mode: 'center',
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      num_classes: c.numClasses,
      pool_size: null,
      first_conv: 'patch_embed.proj',
      classifier: 'head',
    },
  };
}

function usage(message) {
  if (message) console.error(`make-vit-tiny: ${message}`);
  console.error('usage: make-vit-tiny.mjs DIR [--seed N] [--input FILE.npy] [--batch B]');
  process.exit(2);
}

const args = process.argv.slice(2);
let dir;
let seed = 1;
let input;
let batch = 4;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => (i + 1 < args.length ? args[++i] : usage(`${a} needs a value`));
  const int = (v, min) => (/^\d+$/.test(v) && Number(v) >= min ? Number(v) : usage(`${a}: ${v} is not an integer >= ${min}`));
  if (a === '--seed') seed = int(value(), 0);
  else if (a === '--input') input = value();
  else if (a === '--batch') batch = int(value(), 1);
  else if (a === '-h' || a === '--help') usage();
  else if (a.startsWith('-') || dir !== undefined) usage(`unexpected argument ${a}`);
  else dir = a;
}
if (dir === undefined) usage('the output folder is required');

const t0 = performance.now();
const tensors = vitParamSpecs(CONFIG).map(([name, shape, kind]) => {
  const { scale, offset } = paramInit(kind, shape);
  return { name, shape, data: deterministicTensor(name, shape.reduce((a, b) => a * b, 1), seed, scale, offset) };
});
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'config.json'), JSON.stringify(timmConfig(CONFIG), null, 2) + '\n');
const weights = safetensors(tensors);
writeFileSync(join(dir, 'model.safetensors'), weights);
const parameters = tensors.reduce((a, t) => a + t.data.length, 0);
console.error(`${dir}: vit_tiny_patch16_224, ${(parameters / 1e6).toFixed(2)}M parameters (seed ${seed}), ${(weights.length / 2 ** 20).toFixed(1)} MiB, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

if (input !== undefined) {
  // Same hash with its own name, so the batch does not depend on the weights' seed.
  const shape = [batch, CONFIG.inChans, CONFIG.imgSize, CONFIG.imgSize];
  const data = deterministicTensor('input', shape.reduce((a, b) => a * b, 1), 7, 1, 0);
  writeFileSync(input, npy(shape, data));
  console.error(`${input}: float32 [${shape.join(', ')}] in [-1, 1)`);
}
