import { existsSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '@moxi/kernels';

export const RUN_CONFIG_FILE = 'evaluation.json';

/**
 * Everything that decides an evaluation's records. Written to DIR/evaluation.json by the
 * first process; every later process (a rerun, another shard) must bring the same values,
 * or records of different settings would mix. Batch sizes are not part of it: results do
 * not depend on them.
 */
export type RunConfig = Record<string, unknown>;

/** Writes the config if DIR has none (atomically, race-free between shards), else checks it. */
export function claimRunConfig(dir: string, config: RunConfig): void {
  const path = join(dir, RUN_CONFIG_FILE);
  const text = `${JSON.stringify(config, null, 2)}\n`;
  if (!existsSync(path)) {
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, text);
    try {
      // link() fails when another process won the race; then its config is compared below.
      linkSync(partial, path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(partial, { force: true });
    }
  }
  let existing: RunConfig;
  try {
    existing = JSON.parse(readFileSync(path, 'utf8')) as RunConfig;
  } catch {
    throw new InputError(path, 'is not valid JSON; it is not a moxi evaluation folder (choose another --out)');
  }
  const differing = [...new Set([...Object.keys(existing), ...Object.keys(config)])].filter(
    (k) => JSON.stringify(existing[k]) !== JSON.stringify(config[k]),
  );
  if (differing.length > 0) {
    const shown = differing.slice(0, 3).map((k) => `${k} ${JSON.stringify(existing[k])} there, ${JSON.stringify(config[k])} here`);
    throw new InputError(dir, `holds an evaluation with other settings (${shown.join('; ')}${differing.length > 3 ? `; ${differing.length - 3} more` : ''}); rerun with those settings to resume, or choose another --out`);
  }
}
