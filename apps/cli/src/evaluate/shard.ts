import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { usageError } from '../cli-error.ts';

/** This process's share of an evaluation: selected images at positions k with k mod count = index. */
export interface Shard {
  index: number;
  count: number;
  /** Where the shard came from, for the log. */
  source: string;
}

/**
 * The shard from `--shard i/n`, else from a Slurm array task (SLURM_ARRAY_TASK_ID, with
 * SLURM_ARRAY_TASK_COUNT or --shards n) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX
 * with --shards n), else the whole selection. `sbatch --array=2` alone sets the count to 1,
 * so resubmitting one task of a 4-task array needs --shards 4.
 */
export function resolveShard(shardFlag: string | undefined, shardsFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard {
  const shards = shardsFlag === undefined ? undefined : parseCount('--shards', shardsFlag);
  if (shardFlag !== undefined) {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(shardFlag);
    if (!m) throw usageError('--shard', `"${shardFlag}" is not i/n (shard i of n, counting from 0, e.g. 0/4)`);
    const [index, count] = [Number(m[1]), Number(m[2])];
    if (count === 0) throw usageError('--shard', `"${shardFlag}": the shard count must be at least 1`);
    if (shards !== undefined && shards !== count) throw usageError('--shards', `${shards} contradicts --shard ${shardFlag}`);
    return checked('--shard', shardFlag, index, count, 'flag');
  }
  const slurmId = env.SLURM_ARRAY_TASK_ID;
  if (slurmId !== undefined && slurmId !== '') {
    const index = parseIndex('SLURM_ARRAY_TASK_ID', slurmId);
    const count = shards ?? parseCount('SLURM_ARRAY_TASK_COUNT', env.SLURM_ARRAY_TASK_COUNT ?? '');
    return checked(shards === undefined ? 'SLURM_ARRAY_TASK_ID' : '--shards', `${index}/${count}`, index, count, 'Slurm array task');
  }
  const k8sIndex = env.JOB_COMPLETION_INDEX;
  if (k8sIndex !== undefined && k8sIndex !== '') {
    const index = parseIndex('JOB_COMPLETION_INDEX', k8sIndex);
    if (shards === undefined) throw usageError('--shards', 'is required inside a Kubernetes Indexed Job (set it to the Job\'s completions)');
    return checked('JOB_COMPLETION_INDEX', `${index}/${shards}`, index, shards, 'Kubernetes Indexed Job');
  }
  if (shards !== undefined && shards !== 1) {
    throw usageError('--shards', 'needs a shard index: --shard i/n, or run inside a Slurm array (SLURM_ARRAY_TASK_ID) or an Indexed Job (JOB_COMPLETION_INDEX)');
  }
  return { index: 0, count: 1, source: 'whole data set' };
}

function checked(subject: string, shown: string, index: number, count: number, source: string): Shard {
  if (index >= count) {
    throw usageError(subject, `shard ${shown} does not exist: with ${count} shard${count === 1 ? '' : 's'} the index runs 0..${count - 1}${source === 'Slurm array task' ? ' (submit the array as --array=0-N-1, or pass --shards N when resubmitting one task)' : ''}`);
  }
  return { index, count, source };
}

function parseIndex(name: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw usageError(name, `"${value}" is not a shard index (a non-negative integer)`);
  return Number(value);
}

function parseCount(name: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) === 0) throw usageError(name, `"${value}" is not a shard count (a positive integer)`);
  return Number(value);
}

/** records-<i>-of-<n>.jsonl */
export function recordsFileName(shard: Shard): string {
  return `records-${shard.index}-of-${shard.count}.jsonl`;
}

/** shard-<i>-of-<n>.json, next to the shard's records: where and how far the shard ran. */
export function shardStatusFileName(shard: Shard): string {
  return `shard-${shard.index}-of-${shard.count}.json`;
}

/** DIR/shard-<i>-of-<n>.json (docs/evaluation.md; `moxi evaluate report` reads it). Keep this shape. */
export interface ShardStatus {
  /** "i/n" */
  shard: string;
  /** The adapter as `moxi doctor` names it. */
  adapter: string;
  /** A software rasteriser (lavapipe, SwiftShader): the shard ran on the CPU. */
  software: boolean;
  host: string;
  /** Images of this shard's selection (errors included). */
  images: number;
  /** Images with all their records. */
  finished: number;
  complete: boolean;
  /** ISO time of this write. */
  updatedAt: string;
}

/** Writes the shard's status file whole (a temporary file renamed over it). */
export function writeShardStatus(dir: string, shard: Shard, status: Omit<ShardStatus, 'shard' | 'updatedAt'>): void {
  const path = join(dir, shardStatusFileName(shard));
  const value: ShardStatus = { shard: `${shard.index}/${shard.count}`, ...status, updatedAt: new Date().toISOString() };
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(partial, path);
}
