import { InputError } from './input-error.ts';

/** What a shard file's name may look like: a plain file name in the index's own folder. */
// Control characters (NUL above all) are refused too: no file system takes them.
const SHARD_NAME = /^[^/\\\u0000-\u001f]+\.safetensors$/;

/**
 * The shard files a sharded checkpoint's model.safetensors.index.json names (its
 * weight_map values), each once, in first-mention order. Every value must be a plain
 * .safetensors file name beside the index: a path ("../x", "/etc/x", "a/b") could read
 * files outside the model folder, so it is refused, as is anything but a JSON object of
 * strings. The Node folder reader and the browser's folder and URL readers share it.
 */
export function parseShardIndex(indexName: string, text: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(indexName, `is not valid JSON (${(error as Error).message})`);
  }
  const weightMap = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>).weight_map : undefined;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new InputError(indexName, 'needs a "weight_map" object from tensor names to shard files (e.g. "model-00001-of-00002.safetensors")');
  }
  const shards: string[] = [];
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || !SHARD_NAME.test(shard)) {
      throw new InputError(indexName, `weight_map maps ${JSON.stringify(tensor)} to ${JSON.stringify(shard)}; shards must be .safetensors files in the same folder, named without a path`);
    }
    if (!shards.includes(shard)) shards.push(shard);
  }
  if (shards.length === 0) throw new InputError(indexName, 'has no weight_map entries');
  return shards;
}
