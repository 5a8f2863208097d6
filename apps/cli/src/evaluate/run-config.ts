import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '@moxi/kernels';

export const RUN_CONFIG_FILE = 'evaluation.json';

/**
 * Everything that decides an evaluation's records. Written to DIR/evaluation.json by the
 * first process; every later process (a rerun, another shard) must bring the same values,
 * or records of different settings would mix, except that it may add images, methods and
 * perturbations (checkRunConfig). Batch sizes are not part of it: results do not depend
 * on them.
 */
export type RunConfig = Record<string, unknown>;

/** What a later run may add to a finished (or running) evaluation; everything else must be equal. */
export interface RunConfigGrowth {
  /** The config to keep in DIR: the existing one with the additions. */
  merged: RunConfig;
  /** What was added, for the log ("images 6 -> 12", "methods + gradcam"); empty when nothing. */
  added: string[];
}

/**
 * The config DIR holds (undefined when it has none yet), with what `config` adds to it:
 * more `--images` (the selection is a prefix of one shuffled walk, so the chosen images of
 * the smaller run stay, at the same positions and shards), more methods, more perturbations
 * (shapley-sampling's samples and sampler may appear with it). Anything else that differs
 * is refused, naming it.
 */
export function checkRunConfig(dir: string, config: RunConfig): RunConfigGrowth | undefined {
  const path = join(dir, RUN_CONFIG_FILE);
  if (!existsSync(path)) return undefined;
  let existing: RunConfig;
  try {
    existing = JSON.parse(readFileSync(path, 'utf8')) as RunConfig;
  } catch {
    throw new InputError(path, 'is not valid JSON; it is not a moxi evaluation folder (choose another --out)');
  }
  const merged: RunConfig = { ...existing };
  const added: string[] = [];
  const same = (k: string) => JSON.stringify(existing[k]) === JSON.stringify(config[k]);
  const images = (v: unknown) => (v && typeof v === 'object' && Object.keys(v).length === 1 && typeof (v as { images?: unknown }).images === 'number' ? (v as { images: number }).images : undefined);
  const list = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
  const grows = new Set<string>();
  const [before, after] = [images(existing.selection), images(config.selection)];
  if (!same('selection') && before !== undefined && after !== undefined && after > before) {
    merged.selection = config.selection;
    added.push(`images ${before} -> ${after}`);
    grows.add('selection');
  }
  for (const key of ['methods', 'perturbations']) {
    const [had, wants] = [list(existing[key]), list(config[key])];
    if (same(key) || !had || !wants || !had.every((x) => wants.includes(x))) continue;
    const extra = wants.filter((x) => !had.includes(x));
    // The same entries in another order change nothing.
    grows.add(key);
    if (extra.length === 0) continue;
    merged[key] = [...had, ...extra];
    added.push(`${key} + ${extra.join(', ')}`);
  }
  // shapley-sampling added: its settings appear where they were null.
  if (grows.has('methods') && !list(existing.methods)!.includes('shapley-sampling')) {
    for (const key of ['samples', 'sampler']) {
      if (existing[key] === null && config[key] !== null) {
        merged[key] = config[key];
        grows.add(key);
      }
    }
  }
  // The first of kernel-shap, lime and RISE added: the --samples they take appears.
  if (grows.has('methods') && !('givenSamples' in existing) && 'givenSamples' in config) {
    merged.givenSamples = config.givenSamples;
    grows.add('givenSamples');
  }
  const differing = [...new Set([...Object.keys(existing), ...Object.keys(config)])].filter((k) => !grows.has(k) && !same(k));
  if (differing.length > 0) {
    const shown = differing.slice(0, 3).map((k) => `${k} ${JSON.stringify(existing[k])} there, ${JSON.stringify(config[k])} here`);
    throw new InputError(
      dir,
      `holds an evaluation with other settings (${shown.join('; ')}${differing.length > 3 ? `; ${differing.length - 3} more` : ''}); rerun with those settings to resume ` +
        `(a rerun may only add: a larger --images, more --methods or --perturb), or choose another --out`,
    );
  }
  return { merged, added };
}

/**
 * Writes the config if DIR has none (atomically, race-free between shards), else checks it
 * and writes what the run adds (a temporary file renamed over it). Returns the additions.
 */
export function claimRunConfig(dir: string, config: RunConfig): string[] {
  const path = join(dir, RUN_CONFIG_FILE);
  const text = (c: RunConfig) => `${JSON.stringify(c, null, 2)}\n`;
  if (!existsSync(path)) {
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, text(config));
    try {
      // link() fails when another process won the race; then its config is compared below.
      linkSync(partial, path);
      return [];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(partial, { force: true });
    }
  }
  const growth = checkRunConfig(dir, config)!;
  if (growth.added.length > 0) {
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, text(growth.merged));
    renameSync(partial, path);
  }
  return growth.added;
}
