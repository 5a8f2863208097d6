import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { InputError } from '../io/input-error.ts';
import type { ModelFiles } from '../io/model-source.ts';
import { parseShardIndex } from '../io/shard-index.ts';

const FOLDER_HINT = 'give a timm or Hugging Face model folder (config.json + model.safetensors), or a .safetensors file with --arch';

/** PyTorch's pickled checkpoints: torch.save files (.pt, .pth, .ckpt) and transformers' pytorch_model.bin. */
const PICKLED = /\.(bin|pth|pt|ckpt)$/i;

/** The one-line refusal of a pickled checkpoint, with the conversion to safetensors. */
function pickledCheckpoint(path: string, target: string, then = ''): InputError {
  return new InputError(
    path,
    'moxi reads safetensors only (pickled checkpoints can run code); convert it with ' +
      `python3 -c "import torch, safetensors.torch; safetensors.torch.save_file(torch.load('${path}', map_location='cpu'), '${target}')"${then}`,
  );
}

function readBytes(path: string): Uint8Array {
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function weightFiles(folder: string): ModelFiles['weights'] {
  const single = join(folder, 'model.safetensors');
  if (existsSync(single)) return [{ name: single, bytes: readBytes(single) }];
  const index = join(folder, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const shards = parseShardIndex(index, readFileSync(index, 'utf8'));
    return shards.map((s) => {
      const path = join(folder, s);
      if (!existsSync(path)) throw new InputError(path, `shard listed in ${basename(index)} is missing`);
      if (!statSync(path).isFile()) throw new InputError(path, `shard listed in ${basename(index)} is not a file`);
      return { name: path, bytes: readBytes(path) };
    });
  }
  const pickled = readdirSync(folder).find((f) => PICKLED.test(f));
  if (pickled) throw pickledCheckpoint(join(folder, pickled), join(folder, 'model.safetensors'));
  throw new InputError(folder, `has no model.safetensors; ${FOLDER_HINT}`);
}

/**
 * Reads a model from disk: a timm hub folder, a Hugging Face folder (sharded or not), or
 * a bare .safetensors file whose architecture is named by `arch` (a timm name).
 */
export function readModelFiles(location: string, arch?: string): ModelFiles {
  if (!existsSync(location)) throw new InputError(location, `no such file or folder; ${FOLDER_HINT}`);
  if (statSync(location).isFile()) {
    if (PICKLED.test(location)) throw pickledCheckpoint(location, `${location.slice(0, -extname(location).length)}.safetensors`, ' and give that file with --arch NAME');
    if (extname(location) !== '.safetensors') throw new InputError(location, `is a file, not a model folder; ${FOLDER_HINT}`);
    if (!arch) throw new InputError(location, 'a bare .safetensors file needs --arch NAME (a timm name such as vit_tiny_patch16_224)');
    return {
      location,
      config: { name: `--arch ${arch}`, text: JSON.stringify({ architecture: arch }) },
      weights: [{ name: location, bytes: readBytes(location) }],
    };
  }
  const configPath = join(location, 'config.json');
  if (!existsSync(configPath)) throw new InputError(location, `has no config.json; ${FOLDER_HINT}`);
  const files: ModelFiles = {
    location,
    config: { name: configPath, text: readFileSync(configPath, 'utf8') },
    weights: weightFiles(location),
  };
  const preprocessorPath = join(location, 'preprocessor_config.json');
  if (existsSync(preprocessorPath)) files.preprocessor = { name: preprocessorPath, text: readFileSync(preprocessorPath, 'utf8') };
  return files;
}
