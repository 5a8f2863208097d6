/**
 * Where a model comes from, in Node and in browsers alike: a folder served over HTTP, the
 * files of a folder a user picked (a directory input or a drop), files already read, or,
 * in Node, a path (the reader '@moxi/kernels/node' registers). Every source yields the
 * same ModelFiles, so loading is checked once (prepareModel) whatever its origin.
 */
import { InputError } from './input-error.ts';
import { parseShardIndex } from './shard-index.ts';

/** The files of a model, already read: what a Node folder reader or a browser fetch yields. */
export interface ModelFiles {
  /** Shown to users: the folder or file they named. */
  location: string;
  config: { name: string; text: string };
  /** One safetensors file, or the shards of a sharded checkpoint. */
  weights: Array<{ name: string; bytes: Uint8Array }>;
  preprocessor?: { name: string; text: string };
}

/** A file the user picked; `webkitRelativePath` holds "folder/file" for a directory input. */
export interface PickedFile {
  name: string;
  webkitRelativePath?: string;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * A model folder: a path (Node) or URL (absolute, or relative to the page in a browser),
 * the files of a picked folder (a FileList or File[] from `<input webkitdirectory>`,
 * or `{ path, file }` pairs with paths relative to the folder's parent), or files
 * already read.
 */
export type ModelSource = string | URL | ModelFiles | ArrayLike<PickedFile> | ReadonlyArray<{ path: string; file: PickedFile }>;

const FOLDER_HINT = 'a timm or Hugging Face model folder holds config.json and model.safetensors (or its shards with model.safetensors.index.json)';

/** Reads a model path on this machine; registered by the Node entry, absent in browsers. */
export type LocalModelReader = (path: string) => ModelFiles;

let localModelReader: LocalModelReader | undefined;

export function useLocalModelReader(reader: LocalModelReader): void {
  localModelReader = reader;
}

/** A string that names a resource by URL rather than a path on this machine. */
export function isUrlString(value: string): boolean {
  return /^(https?|blob|data|file):/i.test(value);
}

async function fetchOk(url: string, signal?: AbortSignal): Promise<Response | undefined> {
  try {
    const response = await fetch(url, signal ? { signal } : {});
    return response.ok ? response : undefined;
  } catch (error) {
    if (signal?.aborted) throw error;
    return undefined;
  }
}

async function responseBytes(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

/** A model folder served over HTTP: config.json, model.safetensors (or shards), optional preprocessor. */
export async function fetchModelFiles(folderUrl: string, signal?: AbortSignal): Promise<ModelFiles> {
  const base = folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`;
  const config = await fetchOk(`${base}config.json`, signal);
  if (!config) throw new InputError(`${base}config.json`, `could not be fetched; ${FOLDER_HINT}`);
  const files: ModelFiles = { location: base, config: { name: `${base}config.json`, text: await config.text() }, weights: [] };
  const single = await fetchOk(`${base}model.safetensors`, signal);
  if (single) files.weights = [{ name: `${base}model.safetensors`, bytes: await responseBytes(single) }];
  else {
    const index = await fetchOk(`${base}model.safetensors.index.json`, signal);
    if (!index) throw new InputError(`${base}model.safetensors`, `could not be fetched; ${FOLDER_HINT}`);
    files.weights = await Promise.all(
      parseShardIndex(`${base}model.safetensors.index.json`, await index.text()).map(async (shard) => {
        const response = await fetchOk(`${base}${shard}`, signal);
        if (!response) throw new InputError(`${base}${shard}`, 'shard listed in model.safetensors.index.json could not be fetched');
        return { name: `${base}${shard}`, bytes: await responseBytes(response) };
      }),
    );
  }
  const preprocessor = await fetchOk(`${base}preprocessor_config.json`, signal);
  if (preprocessor) files.preprocessor = { name: `${base}preprocessor_config.json`, text: await preprocessor.text() };
  return files;
}

/**
 * A model folder the user picked: every file with its path relative to the folder's
 * parent ("folder/config.json"); the model's files are found at the folder's top level.
 */
export async function pickedFolderModelFiles(entries: ReadonlyArray<{ path: string; file: PickedFile }>): Promise<ModelFiles> {
  const name = entries[0]?.path.split('/')[0] ?? 'the chosen folder';
  if (entries.length === 0) throw new InputError(name, `holds no files; ${FOLDER_HINT}`);
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

function isModelFiles(source: object): source is ModelFiles {
  return 'config' in source && 'weights' in source && 'location' in source;
}

/** Picked files as `{ path, file }`, the path from webkitRelativePath (or the bare name). */
function pickedEntries(source: ArrayLike<PickedFile> | ReadonlyArray<{ path: string; file: PickedFile }>): Array<{ path: string; file: PickedFile }> {
  return Array.from(source as ArrayLike<PickedFile | { path: string; file: PickedFile }>, (item) =>
    'file' in item && typeof item.path === 'string' ? item : { path: (item as PickedFile).webkitRelativePath || `folder/${(item as PickedFile).name}`, file: item as PickedFile },
  );
}

/** Reads every file of a model from wherever it is; nothing is parsed yet (prepareModel does). */
export async function readModelSource(source: ModelSource, signal?: AbortSignal): Promise<ModelFiles> {
  if (source instanceof URL) return source.protocol === 'file:' && localModelReader ? localModelReader(decodeURIComponent(source.pathname)) : fetchModelFiles(source.href, signal);
  if (typeof source === 'string') {
    if (source.startsWith('file:') && localModelReader) return localModelReader(decodeURIComponent(new URL(source).pathname));
    if (isUrlString(source) || !localModelReader) return fetchModelFiles(source, signal);
    return localModelReader(source);
  }
  if (isModelFiles(source as object)) return source as ModelFiles;
  return pickedFolderModelFiles(pickedEntries(source as ArrayLike<PickedFile>));
}
