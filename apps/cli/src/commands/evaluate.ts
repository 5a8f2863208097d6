import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  EVALUATION_METHODS,
  PAPER_EVALUATION_METHODS,
  readsAttention,
  needsGradients,
  takesGivenSamples,
  EXPLAIN_OPTIONS,
  METHODS,
  numberDefault,
  optionDefault,
  readMasking,
  PERTURBATIONS,
  type EvaluationMethod,
  type ExplainOptionName,
  type ExplainOptionValue,
  type GivenOptions,
  type MethodName,
  type Perturbation,
  type RewardKind,
  type SelectionPolicy,
  type ShapleySampler,
} from '@moxi/attrib';
import { DEFAULT_PRECISION } from '@moxi/kernels';
import { usageError } from '../cli-error.ts';
import { readDataSet } from '../evaluate/data-set.ts';
import { runEvaluation } from '../evaluate/run-evaluation.ts';
import type { RunConfig } from '../evaluate/run-config.ts';
import { resolveShard } from '../evaluate/shard.ts';
import { addExplainFlags, explainFlag, explainOptionValue, givenExplainOptions } from '../explain-flags.ts';
import { parsePrecision, PRECISION_HELP, prepareModelFromOptions, PREPROCESS_HELP } from '../model-session.ts';
import { checkOutputFolder } from '../output-paths.ts';
import { parseChoice, parseNonNegativeInt, parsePositiveInt } from '../option-parsers.ts';
import type { CommandRunner } from '../run-command.ts';
import { registerEvaluateCompare } from './evaluate-compare.ts';
import { registerEvaluateReport } from './evaluate-report.ts';

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
    .option('--methods <list>', `comma separated: ${EVALUATION_METHODS.join(', ')} (default: the paper's ${PAPER_EVALUATION_METHODS.join(', ')}; rollout needs a ViT)`)
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
    .option('--precision <p>', `${PRECISION_HELP}; f16 leaves out gradcam and pgd, which need gradients`, DEFAULT_PRECISION)
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
      // Given, it also sets kernel-shap's, lime's and RISE's samples (else each keeps its own default).
      const givenSamples = given.samples === undefined ? undefined : samples;
      const sampler = option<ShapleySampler>('sampler');
      const batchImages = parsePositiveInt('--batch-images', o.batchImages);
      const perturbations = parseList('--perturb', o.perturb, PERTURBATIONS) as Perturbation[];
      const shard = resolveShard(o.shard, o.shards);

      const prepared = prepareModelFromOptions(o);
      const { info } = prepared;
      const preprocessing = prepared.preprocessing;
      if (!preprocessing) throw usageError('--model', `${info.location} has no preprocessing config, which image files need (timm pretrained_cfg or preprocessor_config.json)`);
      const isVit = info.family === 'vit';
      const methods = (o.methods === undefined ? PAPER_EVALUATION_METHODS.filter((m) => isVit || !readsAttention(m)) : parseList('--methods', o.methods, EVALUATION_METHODS)) as EvaluationMethod[];
      if (methods.length === 0) throw usageError('--methods', 'names no method');
      const someTakeGivenSamples = methods.some(takesGivenSamples);
      const attention = methods.filter(readsAttention);
      if (attention.length > 0 && !isVit) throw usageError('--methods', `${attention.join(' and ')} need${attention.length > 1 ? '' : 's'} a ViT; ${info.architecture} has no attention`);
      const masking = readMasking(given, { family: info.family, depth: Number(info.details.depth) });
      const { maskMode } = masking;
      const fromLayer = masking.fromLayer ?? numberDefault('fromLayer');
      // --grid, else the players the model folder declares (config.json "moxi": { "grid": G }), else its own grid.
      const grid = given.grid === undefined ? info.declaredGrid : option<number>('grid');
      if (attention.length > 0 && grid !== undefined && (info.grid[0] % grid !== 0 || info.grid[1] % grid !== 0)) {
        throw usageError('--grid', `${grid}x${grid} groups do not tile the ${info.grid.join('x')} token grid (choose a divisor of ${info.grid[0]})`);
      }
      const gradientMethods = methods.filter(needsGradients);
      const gradientUsers = [...gradientMethods, ...(perturbations.includes('pgd') ? ['pgd'] : [])];
      const leaveOut = [...(gradientMethods.length ? [`--methods without ${gradientMethods.join(', ')}`] : []), ...(perturbations.includes('pgd') ? ['--perturb without pgd'] : [])];
      const precision = parsePrecision(o.precision ?? DEFAULT_PRECISION, prepared, gradientUsers.length ? `${gradientUsers.join(' and ')} (give ${leaveOut.join(', ')})` : undefined);
      const dataSet = readDataSet(o.data, info.numClasses, prepared.labels);

      const started = performance.now();
      const config: RunConfig = {
        model: resolve(info.location),
        architecture: info.architecture,
        parameters: info.parameters,
        // Only when given, so folders evaluated before --preprocess existed still resume.
        ...(o.preprocess !== undefined ? { preprocess: o.preprocess } : {}),
        ...(precision !== DEFAULT_PRECISION ? { precision } : {}),
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
        // Only in runs with those methods, so that folders evaluated before them still resume.
        ...(someTakeGivenSamples ? { givenSamples: givenSamples ?? null } : {}),
        shards: shard.count,
      };
      await runEvaluation({
        out: o.out,
        data: o.data,
        json: o.json === true,
        prepared,
        precision,
        dataSet,
        policy,
        shard,
        batchImages,
        config,
        settings: { methods, perturbations, maskMode, fromLayer, ...(grid !== undefined ? { grid } : {}), reward, samples, ...(givenSamples !== undefined ? { givenSamples } : {}), sampler, seed, normalization: { mean: preprocessing.mean, std: preprocessing.std } },
        started,
      });
    }));
  registerEvaluateReport(evaluate, run);
  registerEvaluateCompare(evaluate, run);
}

function parseList<T extends string>(flag: string, value: string, choices: readonly T[]): T[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const out = parts.map((p) => parseChoice(flag, p, choices));
  return [...new Set(out)];
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
    const { appliesTo } = EXPLAIN_OPTIONS[name];
    const takes = (m: string) => (METHODS as readonly string[]).includes(m) && appliesTo(m as MethodName);
    if (given[name] !== undefined && !listed.some(takes)) {
      // Only the evaluation's own methods are named: explain's other takers are not choices here.
      const takers = EVALUATION_METHODS.filter(takes).join(', ');
      throw usageError(explainFlag(name), `applies to ${takers} only, which --methods ${methods} leaves out; leave it out`);
    }
  }
}

