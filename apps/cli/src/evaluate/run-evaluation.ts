import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  curveKey,
  curveKindsOf,
  errorKey,
  evaluateBatch,
  missingMethods,
  MODEL_METHODS,
  PAPER_PGD,
  plannedImageCost,
  plannedImageFlops,
  selectImages,
  shardOf,
  topClass,
  type Classification,
  type CurvePerturbation,
  type EvaluationMethod,
  type EvaluationSettings,
  type SelectedImage,
  type SelectionPolicy,
} from '@moxi/attrib';
import { InputError, refuseOversizedUpload, stackBatch, type GpuAdapterSummary, type HostTensor, type Precision, type PreparedModel } from '@moxi/kernels';
import { readImageTensor } from '../image-files.ts';
import { openGpuSession } from '../model-session.ts';
import { formatCount, formatDuration, formatGflop, log, ProgressBar, writeJson, writeLines } from '../output.ts';
import { entryPath, type DataSet } from './data-set.ts';
import { RecordsFile } from './records-file.ts';
import { checkRunConfig, claimRunConfig, type RunConfig } from './run-config.ts';
import { recordsFileName, writeShardStatus, type Shard } from './shard.ts';
import { ShardLock } from './shard-lock.ts';

/** Everything `moxi evaluate`'s flags decided, already checked: what a run needs. */
export interface EvaluationJob {
  out: string;
  data: string;
  json: boolean;
  prepared: PreparedModel;
  precision: Precision;
  dataSet: DataSet;
  policy: SelectionPolicy;
  shard: Shard;
  batchImages: number;
  /** The settings evaluation.json keeps (a rerun with others is refused, or extends the run). */
  config: RunConfig;
  settings: EvaluationSettings;
  /** performance.now() when the command started. */
  started: number;
}

/**
 * Runs one shard of an evaluation: takes the shard's lock, chooses the correctly classified
 * images, asks the records already written what is missing (one question: attrib's
 * missingMethods), computes only that, writes each image's lines as it finishes, and keeps
 * the shard's progress file current. Nothing is written before the selection has usable images.
 */
export async function runEvaluation(job: EvaluationJob): Promise<void> {
  const { out, data, json, prepared, precision, dataSet, policy, shard, batchImages, config, settings, started } = job;
  const { info } = prepared;
  const { methods, perturbations, grid, seed } = settings;
  const preprocessing = prepared.preprocessing!;
  // Other settings in DIR, and another writer of this shard, are refused before any work;
  // nothing is written (evaluation.json, records) until the selection has usable images.
  checkRunConfig(out, config);
  const outExisted = existsSync(out);
  mkdirSync(out, { recursive: true });
  const recordsPath = join(out, recordsFileName(shard));
  let lock: ShardLock;
  try {
    lock = ShardLock.acquire(recordsPath);
  } catch (error) {
    removeIfEmpty(out, outExisted);
    throw error;
  }
  let claimed = false;
  const stopListeners: Array<[NodeJS.Signals, () => void]> = [];
  try {
    // The model and batch are checked against the device before anything is written.
    const session = await openGpuSession(prepared, { precision });
    try {
      // Refused before the adapter line, so that bad usage prints one line only.
      refuseOversizedUpload(session.model, batchImages, '--batch-images');
      const adapter = describeAdapter(session.gpu.adapter);
      log(`evaluate: running on ${adapter}${session.gpu.adapter.isSoftware ? ' (a software rasteriser: every pass runs on the CPU)' : ''}`);
      const curveKinds: CurvePerturbation[] = curveKindsOf(perturbations);
      const players = grid === undefined ? info.grid[0] * info.grid[1] : grid * grid;
      const playerGrid = grid === undefined ? info.grid.join('x') : `${grid}x${grid}`;
      const cost = plannedImageCost(players, settings);
      const explanations = Object.entries(cost.explanations).filter(([, n]) => n > 0);
      // Black-box methods evaluate coalitions; the others pass whole images through the model.
      const unit = (method: string, n: number) => ((MODEL_METHODS as readonly string[]).includes(method) ? `image${n === 1 ? '' : 's'}` : 'coalitions');
      log(
        `per image: ${players} players; explanations ${explanations.length > 0 ? explanations.map(([m, n]) => `${m} ${n.toLocaleString('en')} ${unit(m, n)}`).join(', ') : 'none'}, ` +
          `curves ${cost.maskCurves.toLocaleString('en')} coalitions${cost.perturbedImages > 0 ? ` + ${cost.perturbedImages.toLocaleString('en')} perturbed images` : ''}` +
          `${perturbations.includes('pgd') ? `, PGD ${PAPER_PGD.steps + 1} gradient passes` : ''}`,
      );
      const load = (index: number): HostTensor => readImageTensor(entryPath(dataSet, dataSet.entries[index]!), preprocessing);
      log(`${dataSet.root}: ${dataSet.entries.length} images, classes from ${dataSet.labelSource}; shard ${shard.index} of ${shard.count} (${shard.source})`);
      const wanted = 'images' in policy ? policy.images : policy.perClass * new Set(dataSet.entries.map((e) => e.label)).size;
      const selectionBar = new ProgressBar('choosing correctly classified images', Math.min(wanted, dataSet.entries.length));
      const selected = await selectImages(
        dataSet.entries.map((e) => e.label),
        policy,
        seed,
        async (indices) => classifyImages(session.model, indices, load),
        batchImages * 4,
        (walked, kept) => selectionBar.update(kept, `(${walked} of ${dataSet.entries.length} walked)`),
      );
      selectionBar.done();
      const correct = selected.filter((s) => s.error === undefined).length;
      if (correct === 0) {
        const unreadable = selected.length;
        throw new InputError(
          data,
          `only 0 of ${dataSet.entries.length} images are classified correctly by ${info.architecture}${unreadable > 0 ? ` (${unreadable} could not be read)` : ''}; ` +
            `nothing to evaluate: check that the labels are the model's class indices (classes from ${dataSet.labelSource}) and that --model is the model they were made for`,
        );
      }
      if ('images' in policy && correct < policy.images) log(`${dataSet.root}: only ${correct} images are classified correctly; evaluating those`);

      const added = claimRunConfig(out, config);
      claimed = true;
      if (added.length > 0) log(`${out}: extending the evaluation (${added.join('; ')}); the records there are kept, only what is missing is computed`);
      const records = RecordsFile.open(recordsPath, lock);
      if (records.tornBytes > 0) log(`${records.path}: cut off a torn last line (${records.tornBytes} bytes) left by an interrupted run`);
      const mine = shardOf(selected, shard);
      // What is still missing, asked of the records in one place: an image is to do while its
      // error record, or some method's record of some curve kind, is not there.
      const has = (key: string) => records.has(key);
      const stillMissing = (s: SelectedImage): EvaluationMethod[] => missingMethods(has, dataSet.entries[s.index]!.file, methods, curveKinds);
      const missing = (s: SelectedImage) => (s.error !== undefined ? !has(errorKey(dataSet.entries[s.index]!.file)) : stillMissing(s).length > 0);
      const todo = mine.filter(missing);
      const resumed = mine.length - todo.length;
      if (resumed > 0) log(`${records.path}: ${resumed} of ${mine.length} images already done; resuming`);
      const good = todo.filter((s) => s.error === undefined);

      // The plan of the whole selection (this shard, what is still missing), as explain prints its own.
      let plannedCoalitions = 0;
      let plannedFlops = 0;
      const planOf = new Map<string, { coalitions: number; flops: number }>();
      for (const s of good) {
        const still = stillMissing(s);
        let plan = planOf.get(still.join());
        if (!plan) {
          const needed = { ...settings, methods: still };
          const c = plannedImageCost(players, needed);
          plan = { coalitions: Object.values(c.explanations).reduce((a, n) => a + (n ?? 0), 0) + c.maskCurves + c.perturbedImages, flops: plannedImageFlops(session.model, needed) };
          planOf.set(still.join(), plan);
        }
        plannedCoalitions += plan.coalitions;
        plannedFlops += plan.flops;
      }
      log(
        `evaluate: ${formatCount(plannedCoalitions)} coalitions of ${playerGrid} players planned for ${good.length} image${good.length === 1 ? '' : 's'}` +
          `${resumed > 0 ? ` (${resumed} of ${mine.length} done before)` : ''}, ${formatGflop(plannedFlops / 1e9)}`,
      );

      let imagesDone = resumed;
      let finishedHere = 0;
      let coalitions = 0;
      let written = 0;
      const status = (complete: boolean) =>
        writeShardStatus(out, shard, { adapter, software: session.gpu.adapter.isSoftware, host: hostname(), images: mine.length, finished: imagesDone, complete });
      status(todo.length === 0);
      // Ctrl-C or SIGTERM: every finished image's lines are already on disk; say so, and how to resume.
      for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as Array<[NodeJS.Signals, number]>) {
        const stop = () => {
          try {
            status(false);
          } catch {
            // The status file is a report; the records are what count.
          }
          process.stderr.write(
            `\nmoxi: stopped by ${signal}: ${imagesDone} of ${mine.length} images of shard ${shard.index}/${shard.count} are kept in ${records.path} (${written} records written by this run); run the same command again to resume\n`,
          );
          process.exit(code);
        };
        process.prependOnceListener(signal, stop);
        stopListeners.push([signal, stop]);
      }

      const bar = new ProgressBar('evaluate', plannedCoalitions);
      const evalStart = performance.now();
      const rate = () => `${Math.round(coalitions / Math.max(1e-9, (performance.now() - evalStart) / 1000))} coalitions/s`;
      const show = () => bar.update(coalitions, `coalitions, images ${imagesDone}/${mine.length}, ${rate()}`);
      show();
      for (const bad of todo.filter((s) => s.error !== undefined)) {
        const e = dataSet.entries[bad.index]!;
        written += records.append([{ image: e.file, label: e.label, error: bad.error! }]);
        imagesDone += 1;
      }
      for (let first = 0; first < good.length; first += batchImages) {
        const batch = good.slice(first, first + batchImages);
        const items = batch.map((s) => {
          const e = dataSet.entries[s.index]!;
          return { image: e.file, label: e.label, needs: (m: EvaluationMethod, p: CurvePerturbation) => !has(curveKey(e.file, m, p)) };
        });
        const before = coalitions;
        await evaluateBatch(session.model, stackBatch(batch.map((s) => load(s.index))), items, settings, {
          onEvaluations: (n) => {
            coalitions = before + n;
            show();
          },
          // Each image's lines go to disk as soon as they are computed, not at the end of its batch.
          onImage: (_k, lines) => {
            written += records.append(lines);
            imagesDone += 1;
            finishedHere += 1;
            status(false);
            if (finishedHere === 1 && good.length > 1 && coalitions > 0) {
              const elapsed = (performance.now() - evalStart) / 1000;
              const total = (elapsed / coalitions) * Math.max(plannedCoalitions, coalitions);
              log(`evaluate: estimate ${formatDuration(total)} in all, from the first image (${formatCount(coalitions)} of ${formatCount(plannedCoalitions)} coalitions done)`);
            }
            show();
          },
        });
      }
      bar.done();
      records.close();
      status(true);
      const seconds = (performance.now() - started) / 1000;
      const summary = {
        out: out,
        records: records.path,
        shard: { index: shard.index, count: shard.count },
        adapter,
        selected: selected.length,
        shardImages: mine.length,
        resumedImages: resumed,
        errors: mine.filter((s) => s.error !== undefined).length,
        linesWritten: written,
        seconds,
      };
      if (json) writeJson(summary);
      else {
        writeLines([
          `shard ${shard.index} of ${shard.count}: ${mine.length} images (${resumed} done before), ${written} records written to ${records.path} in ${formatDuration(seconds)}`,
          `merge every shard with: moxi evaluate report ${out}`,
        ]);
      }
    } finally {
      session.close();
    }
  } finally {
    for (const [signal, stop] of stopListeners) process.removeListener(signal, stop);
    lock.release();
    if (!claimed) removeIfEmpty(out, outExisted);
  }
}

/** Top-1 classes of data-set images; an image that cannot be read is an error, not a failure. */
async function classifyImages(model: { forward(images: HostTensor): Promise<{ logits: Float32Array; classes: number }> }, indices: number[], load: (index: number) => HostTensor): Promise<Classification[]> {
  const loaded = indices.map((index): HostTensor | { error: string } => {
    try {
      return load(index);
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  });
  const good = loaded.filter((l): l is HostTensor => 'data' in l);
  const predictions: number[] = [];
  if (good.length > 0) {
    const { logits, classes } = await model.forward(stackBatch(good));
    for (let r = 0; r < good.length; r++) predictions.push(topClass(logits.subarray(r * classes, (r + 1) * classes)));
  }
  let next = 0;
  return loaded.map((l) => ('data' in l ? { predicted: predictions[next++]! } : l));
}

/** The adapter as `moxi doctor` names it: its description, and vendor / architecture / device. */
export function describeAdapter(a: GpuAdapterSummary): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ');
  return `${a.description || name}${a.description && name ? ` (${name})` : ''}` || 'an unnamed adapter';
}

/** Removes DIR when this run created it and left nothing in it (a refused run writes nothing). */
function removeIfEmpty(dir: string, existed: boolean): void {
  if (existed) return;
  try {
    rmdirSync(dir);
  } catch {
    // Not empty, or gone: leave it.
  }
}
