import { basename } from 'node:path';
import type { EvaluationSummary, ShardReport } from '@moxi/attrib';
import { shardOfFile, type ShardScan, type ShardStatus } from './records-reader.ts';

/** The fields of DIR/evaluation.json the report checks the records against (all optional: older or hand-made folders). */
export interface ReportRunConfig {
  shards?: number;
  selection?: { images?: number; perClass?: number };
  methods?: string[];
  perturbations?: string[];
}

export interface ReportCoverage {
  warnings: string[];
  /** The warnings about what the curves cover (not those about timings): the figure repeats the first. */
  curveWarnings: string[];
  shards: ShardReport[];
}

/**
 * What a report over DIR does not cover or mixes, in plain sentences: shards without a
 * records file, shards or runs that stopped before their last image, images that could not
 * be read, records of other settings, and shards on different or software adapters. Also
 * one row per shard (adapter, host, progress) for summary.md.
 */
export function reportCoverage(config: ReportRunConfig, scan: ShardScan, statuses: readonly ShardStatus[], summary: EvaluationSummary): ReportCoverage {
  const warnings: string[] = [];
  const recordShards = scan.files.map((file, i) => ({ file, shard: shardOfFile(basename(file)), images: scan.imagesPerFile[i] ?? 0 }));
  const count = config.shards ?? recordShards.find((r) => r.shard)?.shard?.count ?? statuses[0]?.count;

  // Records of a run with another shard count: the folder mixes runs.
  const foreign = recordShards.filter((r) => count !== undefined && r.shard && r.shard.count !== count);
  if (foreign.length > 0) {
    warnings.push(`Mixed settings: ${names(foreign.map((r) => basename(r.file)))} ${foreign.length === 1 ? 'is' : 'are'} from a run with another shard count than the ${count} of evaluation.json; their records are included.`);
  }

  const shards: ShardReport[] = [];
  if (count !== undefined) {
    const missing: string[] = [];
    for (let index = 0; index < count; index++) {
      const records = recordShards.find((r) => r.shard?.index === index && r.shard.count === count);
      const status = statuses.find((s) => s.index === index && s.count === count);
      const shard = `${index}/${count}`;
      if (!records) missing.push(shard);
      shards.push({ shard, records: records !== undefined, recordImages: records?.images ?? 0, ...statusFields(status) });
      if (records && status?.images !== undefined && records.images < status.images) {
        warnings.push(
          `Shard ${shard} has records for ${records.images} of its ${status.images} selected images` +
            `${status.complete === false ? ` (its run stopped or is still running; ${basename(status.file)} was updated ${status.updatedAt ?? 'at an unknown time'})` : ''}` +
            '; rerun its moxi evaluate command to finish it.',
        );
      }
    }
    if (missing.length > 0) {
      const one = missing.length === 1;
      warnings.push(
        `${one ? 'Shard' : 'Shards'} ${names(missing)} ${one ? `has no records file (records-${missing[0]!.replace('/', '-of-')}.jsonl)` : 'have no records files'}: ` +
          `this report covers ${count - missing.length} of ${count} shards, not the whole selection.`,
      );
    }
    const selected = config.selection?.images;
    const eachStated = shards.every((s) => s.images !== undefined);
    if (missing.length === 0 && !eachStated && selected !== undefined && summary.images < selected) {
      warnings.push(
        `${summary.images} of the ${selected} images selected (evaluation.json) have records: the run stopped early, is still running, ` +
          'or the data set has fewer images the model classifies correctly; rerun the same command to resume.',
      );
    }
  }

  const failed = summary.errors.length;
  if (failed > 0) warnings.push(`${failed} ${failed === 1 ? 'image' : 'images'} could not be read and ${failed === 1 ? 'is' : 'are'} left out of every curve (listed below the table).`);

  if (config.methods) {
    const other = [...new Set(summary.rows.map((r) => r.method))].filter((m) => !config.methods!.includes(m));
    if (other.length > 0) warnings.push(`Mixed settings: records hold ${other.length === 1 ? 'a method' : 'methods'} not in evaluation.json: ${other.join(', ')}.`);
  }
  if (config.perturbations) {
    const other = [...new Set(summary.rows.map((r) => r.perturbation))].filter((p) => p !== 'mask' && !config.perturbations!.includes(p));
    if (other.length > 0) warnings.push(`Mixed settings: records hold ${other.length === 1 ? 'a perturbation' : 'perturbations'} not in evaluation.json: ${other.join(', ')}.`);
  }
  const counts = new Set(summary.rows.map((r) => r.images));
  if (counts.size > 1) {
    const shown = summary.rows.map((r) => `${r.method} ${r.perturbation} ${r.images}`).join(', ');
    warnings.push(`The rows are not over the same images (${shown}): compare their curves with care.`);
  }

  const curveWarnings = [...warnings];
  const adapters = new Map<string, string[]>();
  for (const s of shards) if (s.adapter !== undefined) adapters.set(s.adapter, [...(adapters.get(s.adapter) ?? []), s.shard]);
  if (adapters.size > 1) {
    const shown = [...adapters].map(([adapter, on]) => `${adapter} (shard${on.length === 1 ? '' : 's'} ${on.join(', ')})`).join('; ');
    warnings.push(`The shards ran on different adapters: ${shown}; seconds per image are not comparable across them.`);
  }
  const software = shards.filter((s) => s.software);
  if (software.length > 0) {
    const which = software.length === shards.length ? (shards.length === 1 ? 'This run' : 'Every shard') : `${software.length === 1 ? 'Shard' : 'Shards'} ${names(software.map((s) => s.shard))}`;
    const adapter = [...new Set(software.map((s) => s.adapter).filter((a) => a !== undefined))].join(', ');
    warnings.push(`${which} ran on a software rasteriser${adapter === '' ? '' : ` (${adapter})`}: seconds per image are CPU timings, not a GPU's.`);
  }
  return { warnings, curveWarnings, shards: statuses.length > 0 ? shards : [] };
}

function statusFields(status: ShardStatus | undefined): Partial<ShardReport> {
  if (!status) return {};
  const { adapter, software, host, images, finished, complete, updatedAt } = status;
  return Object.fromEntries(Object.entries({ adapter, software, host, images, finished, complete, updatedAt }).filter(([, v]) => v !== undefined));
}

/** "a", "a and b", "a, b and c". */
function names(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
