import { InputError, parseShardIndex, type DecodedImage, type ModelFiles } from '@moxi/kernels';

const FOLDER_HINT = 'a timm or Hugging Face model folder holds config.json and model.safetensors (or its shards with model.safetensors.index.json)';

async function fetchOk(url: string): Promise<Response | undefined> {
  try {
    const response = await fetch(url);
    return response.ok ? response : undefined;
  } catch {
    return undefined;
  }
}

/** A model folder served over HTTP: config.json, model.safetensors (or shards), optional preprocessor. */
export async function fetchModelFiles(folderUrl: string): Promise<ModelFiles> {
  const base = folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`;
  const config = await fetchOk(`${base}config.json`);
  if (!config) throw new InputError(`${base}config.json`, `could not be fetched; ${FOLDER_HINT}`);
  const files: ModelFiles = { location: base, config: { name: `${base}config.json`, text: await config.text() }, weights: [] };
  const single = await fetchOk(`${base}model.safetensors`);
  if (single) files.weights = [{ name: `${base}model.safetensors`, bytes: new Uint8Array(await single.arrayBuffer()) }];
  else {
    const index = await fetchOk(`${base}model.safetensors.index.json`);
    if (!index) throw new InputError(`${base}model.safetensors`, `could not be fetched; ${FOLDER_HINT}`);
    files.weights = await Promise.all(
      parseShardIndex(`${base}model.safetensors.index.json`, await index.text()).map(async (shard) => {
        const response = await fetchOk(`${base}${shard}`);
        if (!response) throw new InputError(`${base}${shard}`, 'shard listed in model.safetensors.index.json could not be fetched');
        return { name: `${base}${shard}`, bytes: new Uint8Array(await response.arrayBuffer()) };
      }),
    );
  }
  const preprocessor = await fetchOk(`${base}preprocessor_config.json`);
  if (preprocessor) files.preprocessor = { name: `${base}preprocessor_config.json`, text: await preprocessor.text() };
  return files;
}

/**
 * A model folder the user picked (a directory input gives every file with its relative
 * path): the same files as on disk, found at the folder's top level.
 */
export async function folderModelFiles(name: string, entries: ReadonlyArray<{ path: string; file: File }>): Promise<ModelFiles> {
  const byName = new Map(entries.map((e) => [e.path.split('/').slice(1).join('/') || e.path, e.file]));
  const text = async (file: string) => ({ name: `${name}/${file}`, text: await byName.get(file)!.text() });
  const bytes = async (file: string) => ({ name: `${name}/${file}`, bytes: new Uint8Array(await byName.get(file)!.arrayBuffer()) });
  if (!byName.has('config.json')) throw new InputError(name, `has no config.json; ${FOLDER_HINT}`);
  const files: ModelFiles = { location: name, config: await text('config.json'), weights: [] };
  if (byName.has('model.safetensors')) files.weights = [await bytes('model.safetensors')];
  else if (byName.has('model.safetensors.index.json')) {
    const index = await text('model.safetensors.index.json');
    files.weights = await Promise.all(
      parseShardIndex(index.name, index.text).map((shard) => {
        if (!byName.has(shard)) throw new InputError(`${name}/${shard}`, 'shard listed in model.safetensors.index.json is missing');
        return bytes(shard);
      }),
    );
  } else {
    const pickled = [...byName.keys()].find((f) => /\.(bin|pth|pt|ckpt)$/i.test(f));
    throw new InputError(name, pickled ? `holds ${pickled}, a pickled PyTorch checkpoint; moxi reads safetensors only (convert it with safetensors.torch.save_file)` : `has no model.safetensors; ${FOLDER_HINT}`);
  }
  if (byName.has('preprocessor_config.json')) files.preprocessor = await text('preprocessor_config.json');
  return files;
}

/**
 * The browser decodes the image; colour management is switched off so the RGB bytes are
 * the file's own, as PIL reads them. The result goes through the same Pillow-exact
 * preprocessing as in Node.
 */
export async function decodeImageInBrowser(blob: Blob, name: string): Promise<DecodedImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new InputError(name, 'is not an image the browser can decode (give a PNG or JPEG)');
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('2d canvas unavailable');
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const rgb = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { width: bitmap.width, height: bitmap.height, data: rgb };
}
