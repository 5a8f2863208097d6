import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  poolToGrid,
  runModelMethod,
  isCoalitionMethod,
  METHODS,
  ModelGames,
  patchCurves,
  ranking,
  runMethod,
  setSumMarkdown,
  summarizeSetSum,
  type Attribution,
  type MethodName,
  type MethodOptions,
  type ExplainOptionName,
  type ShapleySampler,
  type SetSumCase,
} from '@moxi/attrib';
import { batchSlice, refuseOversizedUpload, stackBatch, type HostTensor, type Preprocessing } from '@moxi/kernels';
import { readImageTensor } from '../image-files.ts';
import { usageError } from '../cli-error.ts';
import { openGpuSession, prepareModelFromOptions, PREPROCESS_HELP } from '../model-session.ts';
import { checkOutputFile, writeFileAtomically } from '../output-paths.ts';
import { addExplainFlags, explainOptionValue, givenExplainOptions } from '../explain-flags.ts';
import { parseChoice, parsePositiveInt } from '../option-parsers.ts';
import { ProgressBar, writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';
import { readSplit, type SetSumEntry } from '../setsum-files.ts';

interface EvaluateOptions {
  model?: string;
  arch?: string;
  preprocess?: string;
  data: string;
  methods: string;
  limit?: string;
  batchImages: string;
  out?: string;
  json?: boolean;
}

const DEFAULT_METHODS = 'moxi-insertion,moxi-deletion,shapley-self,shapley-full,shapley-sampling,gradcam';

/** Shapley sampling's options, from attrib's table with the evaluation's defaults. */
const SAMPLING_OPTIONS: ExplainOptionName[] = ['samples', 'sampler', 'seed'];

export function registerSetSumEvaluate(setsum: Command, run: CommandRunner): void {
  const command = setsum
    .command('evaluate')
    .description('how many digit cells each method needs (insertion) or must remove (deletion) on SET-SUM test images')
    .option('-m, --model <path>', 'a SET-SUM model folder (e.g. models/setsum-vit)')
    .option('--arch <name>', 'timm architecture of a bare .safetensors file')
    .option('--preprocess <spec>', PREPROCESS_HELP)
    .requiredOption('-d, --data <folder>', 'a data set from `moxi setsum generate` (its test split is used) or a split folder')
    .option('--methods <list>', `comma separated: ${METHODS.filter((m) => m !== 'rollout').join(', ')} ("" for accuracy only)`, DEFAULT_METHODS)
    .option('--limit <n>', 'use only the first n test images (accuracy too)')
    .option('--batch-images <n>', 'images whose coalitions share forward passes', '32');
  addExplainFlags(command, SAMPLING_OPTIONS, 'evaluation')
    .option('-o, --out <report.md>', 'also write the table as markdown and the full report as JSON next to it')
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (o: EvaluateOptions) => {
      // An empty list measures accuracy alone.
      const methods = o.methods.trim() === '' ? [] : (o.methods.split(',').map((m) => parseChoice('--methods', m.trim(), METHODS)) as MethodName[]);
      if (methods.includes('rollout')) throw usageError('--methods', 'rollout scores are not used for SET-SUM (four tokens); leave it out');
      const given = givenExplainOptions(o, SAMPLING_OPTIONS);
      const methodOptions: MethodOptions = {
        stop: 'full',
        samples: explainOptionValue<number>(given, 'samples', 'evaluation'),
        sampler: explainOptionValue<ShapleySampler>(given, 'sampler', 'evaluation'),
        seed: explainOptionValue<number>(given, 'seed', 'evaluation'),
      };
      const batchImages = parsePositiveInt('--batch-images', o.batchImages);
      if (o.out) {
        checkOutputFile('--out', o.out);
        checkOutputFile('--out', reportJsonPath(o.out));
      }
      const split = existsSync(join(o.data, 'test', 'labels.csv')) ? join(o.data, 'test') : o.data;
      const all = readSplit(split);
      const limit = o.limit === undefined ? all.length : Math.min(all.length, parsePositiveInt('--limit', o.limit));
      const prepared = prepareModelFromOptions(o);
      if (!prepared.preprocessing) throw usageError('--model', `${prepared.info.location} has no preprocessing config for PNG inputs`);
      const [, H, W] = prepared.info.inputShape;
      if (H !== 56 || W !== 56) throw usageError('--model', `${prepared.info.location} takes ${H}x${W} inputs; SET-SUM images are 56x56`);

      const session = await openGpuSession(prepared);
      try {
        refuseOversizedUpload(session.model, batchImages, '--batch-images');
        const entries = all.slice(0, limit);
        const cases: SetSumCase[] = [];
        let correct = 0;
        const bar = new ProgressBar('setsum', entries.length);
        for (let first = 0; first < entries.length; first += batchImages) {
          const chunk = entries.slice(first, first + batchImages);
          const images = loadImages(split, chunk, prepared.preprocessing);
          const games = await ModelGames.create(session.model, images, { grid: 2, memoize: true });
          try {
            const ok = games.games.map((g, i) => g.predicted === chunk[i]!.label);
            correct += ok.filter(Boolean).length;
            const chunkCases: SetSumCase[] = chunk.map((e) => ({ label: e.label, digits: e.digits, curves: {} }));
            for (const method of methods) {
              const attributions = await games.runAll(async (game): Promise<Attribution | undefined> => {
                if (!ok[game.index]) return undefined;
                if (isCoalitionMethod(method)) return runMethod(method, game, [2, 2], methodOptions);
                const a = await runModelMethod(method, session.model, batchSlice(images, game.index), game.target, { grid: [2, 2], seed: methodOptions.seed! });
                // Chefer scores the token grid: its mean over each digit cell ranks the cells.
                return { ...a, grid: [2, 2], scores: poolToGrid(a.scores, a.grid, [2, 2]) };
              });
              const curves = await games.runAll(async (game) => {
                const a = attributions[game.index];
                return a ? patchCurves(game, ranking(a)) : undefined;
              });
              curves.forEach((c, i) => {
                if (c) chunkCases[i]!.curves[method] = c;
              });
            }
            chunkCases.forEach((c, i) => {
              if (ok[i]) cases.push(c);
            });
          } finally {
            games.release();
          }
          bar.update(first + chunk.length);
        }
        bar.done();
        const report = summarizeSetSum(prepared.info.location, entries.length, correct, cases, methods);
        const markdown = setSumMarkdown(report);
        if (o.out) {
          writeFileAtomically(o.out, `${markdown}\n`);
          writeFileAtomically(reportJsonPath(o.out), `${JSON.stringify(report, null, 2)}\n`);
        }
        if (o.json) writeJson(report);
        else writeLines([markdown]);
      } finally {
        session.close();
      }
    }));
}

function loadImages(split: string, chunk: SetSumEntry[], preprocessing: Preprocessing): HostTensor {
  return stackBatch(chunk.map((e) => readImageTensor(join(split, e.file), preprocessing)));
}

/** The JSON report written next to the markdown table: report.md -> report.json. */
function reportJsonPath(out: string): string {
  return out.replace(/(\.md)?$/, '.json');
}

