import { join } from 'node:path';
import type { Command } from 'commander';
import {
  DEFAULT_HEATMAP_OPACITY,
  EXPLAIN_OPTION_NAMES,
  explainImages,
  ExplainRefusal,
  explainSpecFrom,
  needsGradients,
  optionDefault,
  type ExplainSpec,
  type Explanation,
  type RewardKind,
} from '@moxi/attrib';
import { DEFAULT_PRECISION, defaultMaskModeOf, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import { usageError } from '../cli-error.ts';
import { addExplainFlags, explainFlag, givenExplainOptions } from '../explain-flags.ts';
import { checkOutputPath } from '../heatmap-file.ts';
import { BACKDROPS, writeExplainHeatmap, type Backdrop } from '../heatmap-render.ts';
import { openGpuSession, parsePrecision, PRECISION_HELP, prepareModelFromOptions } from '../model-session.ts';
import { parseChoice } from '../option-parsers.ts';
import { checkOutputFolder } from '../output-paths.ts';
import { formatCount, formatGflop, log, ProgressBar, writeJson, writeLines } from '../output.ts';
import { demoConclusion, demoIntroduction, withDemoDefaults } from './explain-demo.ts';
import { folderSummary, readExplainInputs, writeExplanationFolder } from './explain-inputs.ts';
import { explanationReport, explanationSummary } from './explain-report.ts';
import type { CommandRunner } from '../run-command.ts';

/** The flags besides attrib's explanation options (those are read through its table). */
export interface ExplainOptions {
  model?: string;
  precision?: string;
  arch?: string;
  input?: string[];
  imageIndex?: string;
  outDir?: string;
  out?: string;
  opacity: string;
  backdrop: string;
  json?: boolean;
}

function parseUnit(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw usageError(flag, `"${value}" is not a number in [0, 1]`);
  return n;
}

export function registerExplain(program: Command, run: CommandRunner): void {
  const command = program
    .command('explain')
    .description('find the patches that drive a prediction (MoXI) or score them (Shapley values, interactions, KernelSHAP, LIME, RISE, Grad-CAM, attention, gradients)')
    .option('-m, --model <path>', 'model folder (timm or Hugging Face) or .safetensors file')
    .option('--arch <name>', 'timm architecture of a bare .safetensors file')
    .option('--preprocess <spec>', 'image preprocessing, replacing the model\'s: imagenet | inception | none | mean=M,std=S,size=N (details: moxi predict --help)')
    .option('-i, --input <paths...>', 'images (PNG / JPEG), .npy tensors [3,H,W] / [B,3,H,W] already normalised, or folders of them, subfolders included (an ImageFolder: --out-dir keeps its class folders, out/cat/img1.png)')
    .option('--image-index <i>', 'which image of a .npy batch to explain');
  addExplainFlags(command, EXPLAIN_OPTION_NAMES)
    .option('-o, --out <file>', 'write a heatmap (.png or .svg): the image with scores, colour bar, title and MoXI order')
    .option('--opacity <a>', 'heatmap overlay opacity in [0, 1]', String(DEFAULT_HEATMAP_OPACITY))
    .option('--backdrop <kind>', 'heatmap background: crop (what the model saw) | original (the whole picture, the crop framed)', 'crop')
    .option('--precision <p>', PRECISION_HELP, DEFAULT_PRECISION)
    .option('--out-dir <dir>', 'several images: per image a heatmap (.png), its JSON and raw scores (.npy), plus summary.csv')
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (given: ExplainOptions) => {
      const o = withDemoDefaults(given);
      const opacity = parseUnit('--opacity', o.opacity);
      if (o.out) checkOutputPath(o.out);
      const backdrop = parseChoice('--backdrop', o.backdrop, BACKDROPS) as Backdrop;

      if (o.outDir !== undefined && o.out !== undefined) throw usageError('--out', 'names one heatmap; with --out-dir every image gets its own, so leave --out out');
      if (o.outDir !== undefined) checkOutputFolder('--out-dir', o.outDir);

      const prepared = prepareModelFromOptions(o);
      const { info } = prepared;
      // Every option rule and default is attrib's (its option table and validateExplainSpec).
      const spec = explainSpecFrom(givenExplainOptions(o, EXPLAIN_OPTION_NAMES), {
        family: info.family,
        depth: Number(info.details.depth),
        numClasses: info.numClasses,
        labels: prepared.labels,
        declaredGrid: info.declaredGrid,
      });
      const { method } = spec;
      const precision = parsePrecision(o.precision ?? DEFAULT_PRECISION, prepared, needsGradients(method) ? method : undefined);
      if (!o.input || o.input.length === 0) throw usageError('--input', 'is required (images, .npy tensors or folders of them)');
      const images = readExplainInputs(o.input, prepared, o.imageIndex, o.outDir);
      if (images.length > 1 && o.outDir === undefined) {
        throw usageError('--input', `${o.input.join(' ')} holds ${images.length} images; give --out-dir D for a heatmap and a JSON per image (or one image${o.input.length === 1 && o.input[0]!.endsWith('.npy') ? ' with --image-index' : ''})`);
      }
      const reward = spec.game.reward ?? (optionDefault('reward') as RewardKind);
      const maskMode = spec.game.maskMode ?? defaultMaskModeOf(info.family);
      const contrast = spec.game.contrast === true;

      const session = await openGpuSession(prepared, { precision });
      const started = performance.now();
      try {
        const results = await explainWithProgress(session.model, images.map((i) => i.tensor), spec);
        // Images share forward passes: each one's time is its share of the whole.
        const seconds = (performance.now() - started) / 1000 / images.length;
        const reports = results.map((explanation, k) =>
          explanationReport(explanation, {
            model: info.architecture,
            image: images[k]!,
            labels: prepared.labels,
            reward,
            maskMode,
            contrast,
            seconds,
            heatmap: o.outDir !== undefined ? join(o.outDir, `${images[k]!.name}.png`) : (o.out ?? null),
          }),
        );
        const heatmap = (k: number, out: string) =>
          writeExplainHeatmap({ out, modelPath: o.model!, prepared, inputPath: images[k]!.path, input: images[k]!.tensor, attribution: results[k]!.attribution, predicted: results[k]!.predicted, probability: results[k]!.probability, reward, contrast, opacity, backdrop });
        if (o.outDir !== undefined) {
          const written = await writeExplanationFolder(o.outDir, images.map((image, k) => ({ name: image.name, report: reports[k]!, attribution: results[k]!.attribution })), (k, out) => heatmap(k, out));
          if (o.json) writeJson({ outDir: o.outDir, images: reports });
          else writeLines(folderSummary(reports, written));
          return;
        }
        const [report] = reports;
        const { attribution, predicted } = results[0]!;
        if (o.out) await heatmap(0, o.out);
        if (o.json) writeJson(report);
        else writeLines([...(o.demo ? demoIntroduction(o.demo) : []), ...explanationSummary(report!, attribution), ...(o.demo ? demoConclusion(o.demo, attribution, predicted) : [])]);
      } finally {
        session.close();
      }
    }));
}

/**
 * The library's use case with the CLI's progress: the plan on stderr before any work, then
 * a bar whose ETA follows the FLOPs done; library refusals become the flags they concern.
 */
async function explainWithProgress(model: ImageClassifier, inputs: HostTensor[], spec: ExplainSpec): Promise<Explanation[]> {
  let bar: ProgressBar | undefined;
  try {
    return await explainImages(model, inputs, spec, {
      onPlan: (plan) => {
        const images = plan.images > 1 ? ` (${plan.images} images)` : '';
        const total = plan.evaluations * plan.images;
        log(`${plan.method}: ${plan.mayStopEarly ? 'at most ' : ''}${formatCount(total)} coalitions of ${plan.grid.join('x')} players planned${images}, ${formatGflop((plan.flops * plan.images) / 1e9)}`);
        bar = new ProgressBar(plan.method, total, plan.flops * plan.images);
      },
      onProgress: (evaluations, flops) => bar?.update(evaluations, '', flops),
      onImage: (done, total) => {
        if (total < 2) return;
        bar ??= new ProgressBar(spec.method, total);
        bar.update(done);
      },
    });
  } catch (error) {
    throw error instanceof ExplainRefusal ? refusalAsFlag(error, spec) : error;
  } finally {
    bar?.done();
  }
}

function refusalAsFlag(refusal: ExplainRefusal, spec: ExplainSpec): Error {
  if (refusal.reason === 'contrast-is-prediction') {
    const { class: target, image, images } = refusal.details as { class: number; image: number; images: number };
    const which = images > 1 ? ` of image ${image}` : '';
    return usageError(explainFlag('contrast'), `class ${target} is the prediction itself${which}; give --target another class to contrast with it`);
  }
  const { method, players, evaluations, budget } = refusal.details as { method: string; players: number; evaluations: number; budget: number };
  return usageError(
    explainFlag('maxEvaluations'),
    `${method} on ${players} players plans ${formatCount(evaluations)} coalitions, over the limit of ${formatCount(budget)}; use a coarser --grid${spec.method === 'shapley-exact' ? ' or shapley-sampling' : spec.method === 'kernel-shap' ? ', give --samples' : ''}, or raise --max-evaluations`,
  );
}

