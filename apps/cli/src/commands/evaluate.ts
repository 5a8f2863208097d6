import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  checkMaskMode,
  evaluateBatch,
  EXPLAIN_OPTIONS,
  METHODS,
  optionDefault,
  type ExplainOptionName,
  type ExplainOptionValue,
  type GivenOptions,
  type MethodName,
  type ShapleySampler,
  EVALUATION_METHODS,
  PAPER_PGD,
  PERTURBATIONS,
  plannedImageCost,
  plannedImageFlops,
  recordKey,
  selectImages,
  shardOf,
  topClass,
  type Classification,
  type CurvePerturbation,
  type EvaluationLine,
  type EvaluationMethod,
  type EvaluationSettings,
  type Perturbation,
  type RewardKind,
  type SelectedImage,
  type SelectionPolicy,
} from '@moxi/attrib';
import { defaultMaskModeOf, InputError, refuseOversizedUpload, stackBatch, type GpuAdapterSummary, type HostTensor, type MaskMode } from '@moxi/kernels';
import { usageError } from '../cli-error.ts';
import { addExplainFlags, explainFlag, explainOptionValue, givenExplainOptions } from '../explain-flags.ts';
import { entryPath, readDataSet } from '../evaluate/data-set.ts';
import { RecordsFile } from '../evaluate/records-file.ts';
import { checkRunConfig, claimRunConfig, type RunConfig } from '../evaluate/run-config.ts';
import { recordsFileName, resolveShard, writeShardStatus } from '../evaluate/shard.ts';
import { ShardLock } from '../evaluate/shard-lock.ts';
import { readImageTensor } from '../image-files.ts';
import { openGpuSession, parsePrecision, PRECISION_HELP, prepareModelFromOptions, PREPROCESS_HELP } from '../model-session.ts';
import { checkOutputFolder } from '../output-paths.ts';
import { parseChoice, parseNonNegativeInt, parsePositiveInt } from '../option-parsers.ts';
import { formatDuration, log, ProgressBar, writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';
import { registerEvaluateReport } from './evaluate-report.ts';
import { formatCount } from './explain.ts';

interface EvaluateOptions {
  model?: string;
  precision?: string;
  arch?: string;
  preprocess?: string;
  data?: string;
  out?: string;
  methods?: string;
  perturb: string;
  images?: string;
  perClass?: string;
  seed: string;
  grid?: string;
  maskMode?: string;
  maskFromLayer?: string;
  reward?: string;
  samples?: string;
  sampler?: string;
  shard?: string;
  shards?: string;
  batchImages: string;
  json?: boolean;
}

const DEFAULT_IMAGES = 100;

/** `moxi evaluate`: insertion/deletion curves over a data set (docs/evaluation.md), and `moxi evaluate report`. */
export function registerEvaluate(program: Command, run: CommandRunner): void {
  const evaluate = program
    .command('evaluate')
    .description('insertion / deletion curves of every method over an image folder (resumable, shardable); then `moxi evaluate report DIR`')
    .option('-m, --model <path>', 'model folder (timm or Hugging Face) or .safetensors file')
    .option('--arch <name>', 'timm architecture of a bare .safetensors file')
    .option('--preprocess <spec>', PREPROCESS_HELP)
    .option('-d, --data <path>', 'an ImageFolder (one subfolder per class) or a CSV with columns file,label')
    .option('-o, --out <dir>', 'folder for evaluation.json and records-<i>-of-<n>.jsonl; rerunning the same command resumes')
    .option('--methods <list>', `comma separated: ${EVALUATION_METHODS.join(', ')} (default: all that apply; rollout needs a ViT)`)
    .option('--perturb <list>', `deletion curves with perturbed instead of removed patches: ${PERTURBATIONS.join(', ')}`, '')
    .option('--images <n>', `explain the first n correctly classified images of the shuffled data set (default ${DEFAULT_IMAGES})`)
    .option('--per-class <k>', 'instead: the first k correctly classified images of every class')
    .option('--seed <s>', 'shuffles the data set; seeds random orders, sampling and corruptions per image', String(optionDefault('seed')));
  // The explanations' options come from attrib's table, with the evaluation's defaults (the
  // curves always remove patches plainly, whatever --mask-mode the explanations use).
  addExplainFlags(evaluate, EVALUATE_EXPLAIN_OPTIONS, 'evaluation')
    .option('--shard <i/n>', 'evaluate shard i of n (default: from SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX, else everything)')
    .option('--shards <n>', 'shard count inside a Slurm array or Kubernetes Indexed Job (default SLURM_ARRAY_TASK_COUNT)')
    .option('--batch-images <n>', 'images whose coalitions share forward passes (results do not depend on it)', '16')
    .option('--precision <p>', `${PRECISION_HELP}; f16 leaves out gradcam and pgd, which need gradients`, 'f32')
    .option('--json', 'print one JSON document on stdout: what this process did')
    .action(run(async (o: EvaluateOptions) => {
      if (!o.data) throw usageError('--data', 'is required: an ImageFolder (one subfolder per class) or a CSV file,label');
      if (!o.out) throw usageError('--out', 'is required: the folder the records go to (rerun the same command to resume)');
      checkOutputFolder('--out', o.out);
      if (o.images !== undefined && o.perClass !== undefined) throw usageError('--per-class', 'choose either --images or --per-class');
      const policy: SelectionPolicy =
        o.perClass !== undefined ? { perClass: parsePositiveInt('--per-class', o.perClass) } : { images: o.images === undefined ? DEFAULT_IMAGES : parsePositiveInt('--images', o.images) };
      const given = givenExplainOptions(o, EVALUATE_EXPLAIN_OPTIONS);
      refuseInapplicableOptions(o.methods, given);
      const seed = parseNonNegativeInt('--seed', o.seed);
      const option = <T extends ExplainOptionValue>(name: ExplainOptionName): T => explainOptionValue<T>(given, name, 'evaluation');
      const reward = option<RewardKind>('reward');
      const samples = option<number>('samples');
      const sampler = option<ShapleySampler>('sampler');
      const batchImages = parsePositiveInt('--batch-images', o.batchImages);
      const perturbations = parseList('--perturb', o.perturb, PERTURBATIONS) as Perturbation[];
      const shard = resolveShard(o.shard, o.shards);

      const prepared = prepareModelFromOptions(o);
      const { info } = prepared;
      const preprocessing = prepared.preprocessing;
      if (!preprocessing) throw usageError('--model', `${info.location} has no preprocessing config, which image files need (timm pretrained_cfg or preprocessor_config.json)`);
      const isVit = info.family === 'vit';
      const methods = (o.methods === undefined ? EVALUATION_METHODS.filter((m) => isVit || m !== 'rollout') : parseList('--methods', o.methods, EVALUATION_METHODS)) as EvaluationMethod[];
      if (methods.length === 0) throw usageError('--methods', 'names no method');
      if (methods.includes('rollout') && !isVit) throw usageError('--methods', `rollout needs a ViT; ${info.architecture} has no attention`);
      const maskMode = given.maskMode === undefined ? defaultMaskModeOf(info.family) : option<MaskMode>('maskMode');
      checkMaskMode(maskMode, given.fromLayer === undefined ? undefined : option<number>('fromLayer'), { family: info.family, depth: Number(info.details.depth), numClasses: info.numClasses });
      const fromLayer = option<number>('fromLayer');
      // --grid, else the players the model folder declares (config.json "moxi": { "grid": G }), else its own grid.
      const grid = given.grid === undefined ? info.declaredGrid : option<number>('grid');
      if (methods.includes('rollout') && grid !== undefined && (info.grid[0] % grid !== 0 || info.grid[1] % grid !== 0)) {
        throw usageError('--grid', `${grid}x${grid} groups do not tile the ${info.grid.join('x')} token grid (choose a divisor of ${info.grid[0]})`);
      }
      const gradientUsers = [...(methods.includes('gradcam') ? ['gradcam'] : []), ...(perturbations.includes('pgd') ? ['pgd'] : [])];
      const precision = parsePrecision(o.precision ?? 'f32', prepared, gradientUsers.length ? `${gradientUsers.join(' and ')} (give --methods without gradcam${perturbations.includes('pgd') ? ', --perturb without pgd' : ''})` : undefined);
      const dataSet = readDataSet(o.data, info.numClasses, prepared.labels);

      const started = performance.now();
      const config: RunConfig = {
        model: resolve(info.location),
        architecture: info.architecture,
        parameters: info.parameters,
        // Only when given, so folders evaluated before --preprocess existed still resume.
        ...(o.preprocess !== undefined ? { preprocess: o.preprocess } : {}),
        ...(precision !== 'f32' ? { precision } : {}),
        data: resolve(o.data),
        dataImages: dataSet.entries.length,
        selection: policy,
        seed,
        methods,
        perturbations,
        grid: grid ?? null,
        maskMode,
        maskFromLayer: maskMode === 'attention' ? fromLayer : null,
        reward,
        samples: methods.includes('shapley-sampling') ? samples : null,
        sampler: methods.includes('shapley-sampling') ? sampler : null,
        shards: shard.count,
      };
      // Other settings in DIR, and another writer of this shard, are refused before any work;
      // nothing is written (evaluation.json, records) until the selection has usable images.
      checkRunConfig(o.out, config);
      const outExisted = existsSync(o.out);
      mkdirSync(o.out, { recursive: true });
      const recordsPath = join(o.out, recordsFileName(shard));
      let lock: ShardLock;
      try {
        lock = ShardLock.acquire(recordsPath);
      } catch (error) {
        removeIfEmpty(o.out, outExisted);
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
          const settings: EvaluationSettings = {
            methods,
            perturbations,
            maskMode,
            fromLayer,
            ...(grid !== undefined ? { grid } : {}),
            reward,
            samples,
            sampler,
            seed,
            normalization: { mean: preprocessing.mean, std: preprocessing.std },
          };
          const curveKinds: CurvePerturbation[] = ['mask', ...perturbations];
          const players = grid === undefined ? info.grid[0] * info.grid[1] : grid * grid;
          const playerGrid = grid === undefined ? info.grid.join('x') : `${grid}x${grid}`;
          const cost = plannedImageCost(players, settings);
          const explanations = Object.entries(cost.explanations).filter(([, n]) => n > 0);
          log(
            `per image: ${players} players; explanations ${explanations.reduce((a, [, n]) => a + n, 0).toLocaleString('en')} coalitions` +
              `${explanations.length > 0 ? ` (${explanations.map(([m, n]) => `${m} ${n.toLocaleString('en')}`).join(', ')})` : ''}, ` +
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
              o.data,
              `only 0 of ${dataSet.entries.length} images are classified correctly by ${info.architecture}${unreadable > 0 ? ` (${unreadable} could not be read)` : ''}; ` +
                `nothing to evaluate: check that the labels are the model's class indices (classes from ${dataSet.labelSource}) and that --model is the model they were made for`,
            );
          }
          if ('images' in policy && correct < policy.images) log(`${dataSet.root}: only ${correct} images are classified correctly; evaluating those`);

          const added = claimRunConfig(o.out, config);
          claimed = true;
          if (added.length > 0) log(`${o.out}: extending the evaluation (${added.join('; ')}); the records there are kept, only what is missing is computed`);
          const records = RecordsFile.open(recordsPath, lock);
          if (records.tornBytes > 0) log(`${records.path}: cut off a torn last line (${records.tornBytes} bytes) left by an interrupted run`);
          const mine = shardOf(selected, shard);
          const missingMethods = (s: SelectedImage): EvaluationMethod[] => {
            const e = dataSet.entries[s.index]!;
            return methods.filter((m) => curveKinds.some((p) => !records.has(lineKey(e.file, m, p))));
          };
          const missing = (s: SelectedImage) => {
            const e = dataSet.entries[s.index]!;
            return s.error !== undefined ? !records.has(recordKey({ image: e.file, label: e.label, error: s.error })) : missingMethods(s).length > 0;
          };
          const todo = mine.filter(missing);
          const resumed = mine.length - todo.length;
          if (resumed > 0) log(`${records.path}: ${resumed} of ${mine.length} images already done; resuming`);
          const good = todo.filter((s) => s.error === undefined);

          // The plan of the whole selection (this shard, what is still missing), as explain prints its own.
          let plannedCoalitions = 0;
          let plannedFlops = 0;
          const planOf = new Map<string, { coalitions: number; flops: number }>();
          for (const s of good) {
            const still = missingMethods(s);
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
            writeShardStatus(o.out!, shard, { adapter, software: session.gpu.adapter.isSoftware, host: hostname(), images: mine.length, finished: imagesDone, complete });
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
              return { image: e.file, label: e.label, needs: (m: EvaluationMethod, p: CurvePerturbation) => !records.has(lineKey(e.file, m, p)) };
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
            out: o.out,
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
          if (o.json) writeJson(summary);
          else {
            writeLines([
              `shard ${shard.index} of ${shard.count}: ${mine.length} images (${resumed} done before), ${written} records written to ${records.path} in ${formatDuration(seconds)}`,
              `merge every shard with: moxi evaluate report ${o.out}`,
            ]);
          }
        } finally {
          session.close();
        }
      } finally {
        for (const [signal, stop] of stopListeners) process.removeListener(signal, stop);
        lock.release();
        if (!claimed) removeIfEmpty(o.out, outExisted);
      }
    }));
  registerEvaluateReport(evaluate, run);
}

function lineKey(image: string, method: EvaluationMethod, perturbation: CurvePerturbation): string {
  return recordKey({ image, method, perturbation } as EvaluationLine);
}

function parseList<T extends string>(flag: string, value: string, choices: readonly T[]): T[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const out = parts.map((p) => parseChoice(flag, p, choices));
  return [...new Set(out)];
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

/** The explanation options evaluate takes, from attrib's table. */
const EVALUATE_EXPLAIN_OPTIONS: ExplainOptionName[] = ['grid', 'maskMode', 'fromLayer', 'reward', 'samples', 'sampler'];

/**
 * Options that only some methods use are refused when --methods leaves all of those out,
 * as `moxi explain` refuses them (attrib's table says which methods take each): given but
 * ignored, they would look as if they had changed something.
 */
function refuseInapplicableOptions(methods: string | undefined, given: GivenOptions): void {
  if (methods === undefined) return;
  const listed = parseList('--methods', methods, EVALUATION_METHODS);
  for (const name of ['samples', 'sampler'] as const) {
    const { appliesTo, methods: takers } = EXPLAIN_OPTIONS[name];
    if (given[name] !== undefined && !listed.some((m) => (METHODS as readonly string[]).includes(m) && appliesTo(m as MethodName))) {
      throw usageError(explainFlag(name), `applies to ${takers} only, which --methods ${methods} leaves out; leave it out`);
    }
  }
}

/** The adapter as `moxi doctor` names it: its description, and vendor / architecture / device. */
export function describeAdapter(a: GpuAdapterSummary): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ');
  return `${a.description || name}${a.description && name ? ` (${name})` : ''}` || 'an unnamed adapter';
}

function formatGflop(gflop: number): string {
  return gflop >= 1000 ? `${(gflop / 1000).toFixed(1)} TFLOP` : `${gflop.toFixed(gflop >= 10 ? 0 : 2)} GFLOP`;
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
