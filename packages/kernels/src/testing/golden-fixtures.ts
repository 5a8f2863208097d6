/**
 * The PyTorch golden files of tools/fixtures/make_vit_goldens.py and
 * make_resnet_goldens.py, for tests in every package. Large weights and inputs are not
 * committed; they are rebuilt here from the generator the golden script used, bit for bit.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { batchSlice, type HostTensor } from '../host-tensor.ts';
import type { ModelFiles } from '../io/model-source.ts';
import { encodeNpy, parseNpy } from '../io/npy.ts';
import { encodeSafetensors } from '../io/safetensors.ts';
import {
  deterministicResnetWeights,
  deterministicTensor,
  deterministicVitWeights,
  type DeterministicResNetConfig,
  type DeterministicVitConfig,
} from './deterministic-weights.ts';

export const VIT_FIXTURES = fileURLToPath(new URL('../../test/fixtures/vit/', import.meta.url));
export const RESNET_FIXTURES = fileURLToPath(new URL('../../test/fixtures/resnet/', import.meta.url));

export interface GoldenCase {
  name: string;
  input: string | null;
  logits: string;
  mask:
    | null
    | { mode: 'token'; keep: number[][] }
    | { mode: 'attention'; fromLayer: number; keep: number[][] }
    | { mode: 'pixel'; grid: [number, number]; keep: number[][] };
}

export interface GoldenFolder {
  name: string;
  family: 'vit' | 'resnet';
  path: string;
  format: 'timm' | 'hf';
  weights: string | null;
  generator: { seed: number; config: DeterministicVitConfig | DeterministicResNetConfig };
  inputGenerator: { name: string; shape: number[]; seed: number; scale: number } | null;
  cases: GoldenCase[];
}

function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function goldenFolders(root: string, family: GoldenFolder['family']): GoldenFolder[] {
  return readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'cases.json')))
    .sort()
    .map((name) => {
      const path = join(root, name);
      const json = JSON.parse(readFileSync(join(path, 'cases.json'), 'utf8'));
      return {
        name,
        family,
        path,
        format: json.model.format,
        weights: json.model.weights,
        generator: json.model.generator,
        inputGenerator: json.model.inputGenerator ?? null,
        cases: json.cases,
      };
    });
}

export function vitGoldenFolders(): GoldenFolder[] {
  return goldenFolders(VIT_FIXTURES, 'vit');
}

export function resnetGoldenFolders(): GoldenFolder[] {
  return goldenFolders(RESNET_FIXTURES, 'resnet');
}

/** The folder's model files, with generated weights encoded as safetensors in memory. */
export function goldenModelFiles(folder: GoldenFolder): ModelFiles {
  const config = { name: join(folder.path, 'config.json'), text: readFileSync(join(folder.path, 'config.json'), 'utf8') };
  const weightsPath = join(folder.path, 'model.safetensors');
  const weights = folder.weights
    ? [{ name: weightsPath, bytes: readBytes(weightsPath) }]
    : [{ name: `${folder.name} (generated)`, bytes: generatedSafetensors(folder) }];
  const files: ModelFiles = { location: folder.path, config, weights };
  const pre = join(folder.path, 'preprocessor_config.json');
  if (existsSync(pre)) files.preprocessor = { name: pre, text: readFileSync(pre, 'utf8') };
  return files;
}

/** The weights the golden script used, with timm / torchvision names. */
export function goldenWeights(folder: GoldenFolder): Map<string, HostTensor> {
  const { config, seed } = folder.generator;
  return folder.family === 'vit'
    ? deterministicVitWeights(config as DeterministicVitConfig, seed)
    : deterministicResnetWeights(config as DeterministicResNetConfig, seed);
}

function generatedSafetensors(folder: GoldenFolder): Uint8Array {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of goldenWeights(folder)) {
    tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data };
  }
  return encodeSafetensors(tensors);
}

export function goldenInput(folder: GoldenFolder, c: GoldenCase): HostTensor {
  if (c.input) return parseNpy(readBytes(join(folder.path, c.input)), c.input);
  const g = folder.inputGenerator;
  if (!g) throw new Error(`${folder.name}/${c.name}: no input file and no input generator`);
  return deterministicTensor(g.name, g.shape, g.seed, g.scale);
}

export function goldenLogits(folder: GoldenFolder, c: GoldenCase): HostTensor {
  return parseNpy(readBytes(join(folder.path, c.logits)), c.logits);
}

/**
 * Writes a self-contained copy of a golden folder (config, weights) under `dir` once, and
 * the case's input as a .npy next to it, for tests that drive the CLI on files. With
 * `row`, the input holds that batch row only.
 */
export function materializeGoldenFolder(folder: GoldenFolder, c: GoldenCase, dir: string, row?: number): { model: string; input: string } {
  const model = join(dir, folder.name);
  if (!existsSync(join(model, 'model.safetensors'))) {
    mkdirSync(model, { recursive: true });
    const files = goldenModelFiles(folder);
    writeFileSync(join(model, 'config.json'), files.config.text);
    if (files.preprocessor) writeFileSync(join(model, 'preprocessor_config.json'), files.preprocessor.text);
    writeFileSync(join(model, 'model.safetensors'), files.weights[0]!.bytes);
  }
  const all = goldenInput(folder, c);
  const tensor = row === undefined ? all : batchSlice(all, row);
  const input = join(dir, `${folder.name}-${c.name}${row === undefined ? '' : `-row${row}`}.npy`);
  writeFileSync(input, encodeNpy(tensor));
  return { model, input };
}
