import fc from 'fast-check';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/io/input-error.ts';
import { decodeImage } from '../../src/io/image-decode.ts';
import { encodeNpy, parseNpy } from '../../src/io/npy.ts';
import { preprocessingFromHuggingFace } from '../../src/io/preprocessing-from-hugging-face.ts';
import { parseSafetensors, tensorToFloat32 } from '../../src/io/safetensors.ts';
import { parseShardIndex } from '../../src/io/shard-index.ts';
import { prepareModel, type ModelFiles } from '../../src/models/load-model.ts';
import { goldenModelFiles, vitGoldenFolders } from '../../src/testing/index.ts';

// Property-based fuzzing of every parser that reads strangers' files: each mutated file
// either loads or is refused with an InputError (exit 2 through the CLI); never another
// exception, a hang or an allocation past the documented caps. A fixed seed and these run
// counts (10,800 cases) run in `pnpm test`; `pnpm --filter @moxi/kernels fuzz` runs 20x
// more with a fresh seed before a release (FUZZ_SEED / FUZZ_SCALE).
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
/** A parse that takes longer than this on a small file is a hang in the making. */
const SLOW_MS = 2000;

function loadsOrRefuses(name: string, parse: () => unknown): void {
  const t0 = performance.now();
  try {
    parse();
  } catch (error) {
    if (!(error instanceof InputError)) throw new Error(`${name}: ${(error as Error).name}: ${(error as Error).message}`);
  }
  const ms = performance.now() - t0;
  if (ms > SLOW_MS) throw new Error(`${name}: took ${ms.toFixed(0)} ms`);
}

const params = (runs: number) => ({ seed: SEED, numRuns: Math.round(runs * SCALE), endOnFailure: true });

/** Byte-level damage: overwrites, truncation, insertion, as a disk, a download or an editor leaves it. */
const damage = fc.record({
  writes: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  insert: fc.option(fc.record({ at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }), { nil: undefined }),
});

function damaged(bytes: Uint8Array, d: { writes: Array<{ at: number; value: number }>; cut?: number; insert?: { at: number; bytes: Uint8Array } }): Uint8Array {
  let out = Uint8Array.from(bytes);
  for (const w of d.writes) if (out.length) out[w.at % out.length] = w.value;
  if (d.insert) {
    const at = d.insert.at % (out.length + 1);
    out = Uint8Array.from([...out.subarray(0, at), ...d.insert.bytes, ...out.subarray(at)]);
  }
  if (d.cut !== undefined) out = out.subarray(0, d.cut % (out.length + 1));
  return out;
}

/** Numbers a hostile or careless config may hold where a size belongs. */
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 2, 3, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, 0.5, -0.0, 137438953472),
  fc.integer({ min: -1000, max: 100_000 }),
  fc.double(),
);
const hostileValue = fc.oneof(hostileNumber, fc.constantFrom(null, true, 'x', '12', [], {}, [3, 224, 224], [1, 2]));

function safetensorsFile(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const vitFolder = vitGoldenFolders().find((f) => f.name === 'small-timm')!;
const vitFiles = goldenModelFiles(vitFolder);
const vitConfig = JSON.parse(vitFiles.config.text) as Record<string, unknown>;

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function pngBytes(width: number, height: number, colorType: 0 | 2 | 4 | 6): Uint8Array {
  const png = new PNG({ width, height, colorType, inputColorType: 6, bitDepth: 8 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) % 256;
  return new Uint8Array(PNG.sync.write(png, { colorType }));
}

describe('fuzzed parsers (fixed seed)', () => {
  it('safetensors: damaged bytes (2,500 files)', () => {
    const entries = { a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }, b: { dtype: 'F16', shape: [4], data_offsets: [24, 32] }, __metadata__: { format: 'pt' } };
    const valid = safetensorsFile(entries, new Uint8Array(32).map((_, i) => i));
    fc.assert(
      fc.property(damage, (d) =>
        loadsOrRefuses('safetensors', () => {
          for (const entry of parseSafetensors(damaged(valid, d), 'model.safetensors').values()) tensorToFloat32(entry);
        }),
      ),
      params(2500),
    );
  });

  it('safetensors: hostile headers (dtypes, shapes, offsets, names; 2,000 files)', () => {
    const header = fc.dictionary(
      fc.oneof(fc.constantFrom('w', '__metadata__', '', '../escape'), fc.string({ maxLength: 6 })),
      fc.oneof(
        fc.record({ dtype: fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F8_E4M3', '', 'f32'), shape: fc.array(hostileNumber, { maxLength: 4 }), data_offsets: fc.tuple(hostileNumber, hostileNumber) }, { requiredKeys: [] }),
        hostileValue,
      ),
      { maxKeys: 4 },
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), (h, data) =>
        loadsOrRefuses('safetensors header', () => {
          for (const entry of parseSafetensors(safetensorsFile(h, data), 'model.safetensors').values()) tensorToFloat32(entry);
        }),
      ),
      params(2000),
    );
  });

  it('.npy: damaged bytes and hostile headers (2,000 files)', () => {
    const valid = encodeNpy({ shape: [2, 3, 4, 4], data: new Float32Array(96).map((_, i) => i / 7) });
    const header = fc.record({ descr: fc.constantFrom("'<f4'", "'<f8'", "'>f4'", "'|u1'", "'<f2'", '3', "''"), fortran: fc.constantFrom('False', 'True', '0', "'no'"), shape: fc.array(hostileNumber, { maxLength: 5 }) });
    fc.assert(
      fc.property(damage, header, fc.boolean(), (d, h, useHeader) => {
        let bytes = damaged(valid, d);
        if (useHeader) {
          const text = `{'descr': ${h.descr}, 'fortran_order': ${h.fortran}, 'shape': (${h.shape.join(', ')}${h.shape.length === 1 ? ',' : ''}), }`.padEnd(118) + '\n';
          bytes = Uint8Array.from([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, text.length & 0xff, text.length >> 8, ...new TextEncoder().encode(text), ...new Uint8Array(96 * 4)]);
        }
        loadsOrRefuses('npy', () => parseNpy(bytes, 'input.npy'));
      }),
      params(2000),
    );
  });

  it('PNG: damaged bytes of every colour type, including forged dimensions (1,500 files)', () => {
    const valid = [pngBytes(5, 3, 2), pngBytes(4, 4, 6), pngBytes(3, 2, 0), pngBytes(2, 2, 4)];
    // IHDR width / height live at bytes 16..23: forging them is how decompression bombs start.
    const forged = fc.record({ width: fc.oneof(fc.constantFrom(0, 1, 65535, 100_000, 2 ** 31 - 1), fc.nat()), height: fc.oneof(fc.constantFrom(0, 1, 65535, 100_000, 2 ** 31 - 1), fc.nat()) });
    fc.assert(
      fc.property(fc.nat({ max: 3 }), damage, fc.option(forged, { nil: undefined }), (which, d, dims) => {
        const bytes = damaged(valid[which]!, d);
        if (dims && bytes.length >= 33) {
          const view = new DataView(bytes.buffer, bytes.byteOffset);
          view.setUint32(16, dims.width >>> 0);
          view.setUint32(20, dims.height >>> 0);
          // A forger fixes the chunk's CRC too, so the decoder believes the header.
          view.setUint32(29, crc32(bytes.subarray(12, 29)));
        }
        loadsOrRefuses('png', () => decodeImage(bytes, 'image.png'));
      }),
      params(1500),
    );
  });

  it('JPEG: damaged bytes (1,000 files)', async () => {
    const { readFileSync } = await import('node:fs');
    const jpeg = new Uint8Array(readFileSync(new URL('../fixtures/preprocess/photo-420.jpg', import.meta.url)));
    fc.assert(fc.property(damage, (d) => loadsOrRefuses('jpeg', () => decodeImage(damaged(jpeg, d), 'image.jpg'))), params(1000));
  });

  it('config.json: hostile numbers for every size a ViT is planned from (1,000 folders)', () => {
    const keys = ['depth', 'embed_dim', 'num_heads', 'mlp_ratio', 'num_classes', 'img_size', 'patch_size', 'in_chans'];
    fc.assert(
      fc.property(fc.constantFrom(...keys), hostileValue, fc.boolean(), (key, value, top) => {
        const args = { ...(vitConfig.model_args as Record<string, unknown>), [key]: value };
        const config = top ? { ...vitConfig, [key]: value, model_args: args } : { ...vitConfig, model_args: args };
        const files: ModelFiles = { ...vitFiles, config: { name: 'config.json', text: JSON.stringify(config) } };
        loadsOrRefuses(`config ${key}=${JSON.stringify(value)}`, () => prepareModel(files));
      }),
      params(1000),
    );
  });

  it('model.safetensors.index.json: hostile weight maps and damaged text (500 files); every shard it returns is a plain file name', () => {
    const index = JSON.stringify({ metadata: { total_size: 1234 }, weight_map: { 'head.weight': 'model-00001-of-00002.safetensors', 'head.bias': 'model-00002-of-00002.safetensors' } });
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    const shardName = fc.oneof(
      fc.constantFrom('model-00001-of-00002.safetensors', '../model.safetensors', '/etc/passwd', 'a/b.safetensors', '..\\x.safetensors', '.safetensors', 'x.safetensors\u0000', 'C:\\x.safetensors', '', '..'),
      fc.string(),
      hostileValue,
    );
    const text = fc.oneof(
      fc.dictionary(fc.string(), shardName).map((weightMap) => JSON.stringify({ weight_map: weightMap })),
      fc.constantFrom('null', '[]', '{"weight_map": null}', '{"weight_map": []}', '{"weight_map": "x"}', '7'),
      damage.map((d) => decoder.decode(damaged(encoder.encode(index), d))),
    );
    fc.assert(
      fc.property(text, (t) => {
        loadsOrRefuses('shard index', () => {
          for (const shard of parseShardIndex('model.safetensors.index.json', t)) {
            if (shard.includes('/') || shard.includes('\\') || shard.includes('\u0000') || !shard.endsWith('.safetensors')) throw new Error(`shard index: returned ${JSON.stringify(shard)}`);
          }
        });
      }),
      params(500),
    );
  });

  it('config.json and preprocessor_config.json: damaged text (300 files)', () => {
    const preprocessor = JSON.stringify({ do_resize: true, size: { height: 32, width: 32 }, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], resample: 2 });
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    fc.assert(
      fc.property(damage, fc.boolean(), (d, which) => {
        if (which) {
          const text = decoder.decode(damaged(encoder.encode(vitFiles.config.text), d));
          loadsOrRefuses('config text', () => prepareModel({ ...vitFiles, config: { name: 'config.json', text } }));
        } else {
          const text = decoder.decode(damaged(encoder.encode(preprocessor), d));
          loadsOrRefuses('preprocessor text', () => {
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              return;
            }
            preprocessingFromHuggingFace(json, 'preprocessor_config.json');
          });
        }
      }),
      params(300),
    );
  });

  it('sizes a config claims are checked against the weights before anything is sized from them', { timeout: 30_000 }, () => {
    // Each guard on its own: the block count against the weights (before the per-block
    // loop, which would otherwise run 2^31 times), and the reader's cap on placeholders for
    // mis-shaped weights (which would otherwise allocate what the config claims).
    const cases = [
      ['depth', 2 ** 31, /holds 3 blocks \(blocks\.0 \.\. blocks\.2\), but config says .*: 2147483648 blocks/],
      ['num_classes', 2 ** 31, /weight head\.weight has shape \[10, 24\], expected \[2147483648, 24\]/],
      ['mlp_ratio', 2 ** 20, /weight blocks\.0\.mlp\.fc1\.weight has shape \[96, 24\], expected \[25165824, 24\]/],
      ['img_size', 2 ** 20, /pos_embed has shape/],
    ] as const;
    for (const [key, value, message] of cases) {
      const config = { ...vitConfig, model_args: { ...(vitConfig.model_args as Record<string, unknown>), [key]: value } };
      const t0 = performance.now();
      expect(() => prepareModel({ ...vitFiles, config: { name: 'config.json', text: JSON.stringify(config) } }), key).toThrow(message);
      expect(performance.now() - t0, key).toBeLessThan(1000);
    }
  });
});
