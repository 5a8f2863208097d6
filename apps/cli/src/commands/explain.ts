import { join } from 'node:path';
import type { Command } from 'commander';
import {
  EXPLAIN_OPTION_NAMES,
  explainImages,
  ExplainRefusal,
  explainSpecFrom,
  isCoalitionMethod,
  optionDefault,
  ranking,
  type Attribution,
  type ExplainSpec,
  type Explanation,
  type RewardKind,
} from '@moxi/attrib';
import { defaultMaskModeOf, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import { usageError } from '../cli-error.ts';
import { addExplainFlags, explainFlag, givenExplainOptions } from '../explain-flags.ts';
import { checkOutputPath } from '../heatmap-file.ts';
import { BACKDROPS, writeExplainHeatmap, type Backdrop } from '../heatmap-render.ts';
import { openGpuSession, parsePrecision, PRECISION_HELP, prepareModelFromOptions } from '../model-session.ts';
import { parseChoice } from '../option-parsers.ts';
import { checkOutputFolder } from '../output-paths.ts';
import { log, ProgressBar, writeJson, writeLines } from '../output.ts';
import { demoConclusion, demoIntroduction, withDemoDefaults } from './explain-demo.ts';
import { className, folderSummary, readExplainInputs, writeExplanationFolder } from './explain-inputs.ts';
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
    .description('find the patches that drive a prediction (MoXI) or score them (Shapley values, interactions)')
    .option('-m, --model <path>', 'model folder (timm or Hugging Face) or .safetensors file')
    .option('--arch <name>', 'timm architecture of a bare .safetensors file')
    .option('--preprocess <spec>', 'image preprocessing, replacing the model\'s: imagenet | inception | none | mean=M,std=S,size=N (details: moxi predict --help)')
    .option('-i, --input <paths...>', 'images (PNG / JPEG), .npy tensors [3,H,W] / [B,3,H,W] already normalised, or folders of them, subfolders included (an ImageFolder: --out-dir keeps its class folders, out/cat/img1.png)')
    .option('--image-index <i>', 'which image of a .npy batch to explain');
  addExplainFlags(command, EXPLAIN_OPTION_NAMES)
    .option('-o, --out <file>', 'write a heatmap (.png or .svg): the image with scores, colour bar, title and MoXI order')
    .option('--opacity <a>', 'heatmap overlay opacity in [0, 1]', '0.55')
    .option('--backdrop <kind>', 'heatmap background: crop (what the model saw) | original (the whole picture, the crop framed)', 'crop')
    .option('--precision <p>', PRECISION_HELP, 'f32')
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
      const precision = parsePrecision(o.precision ?? 'f32', prepared, method === 'gradcam' ? 'gradcam' : undefined);
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
        const label = (c: number) => prepared.labels?.[c];
        const reports = results.map(({ attribution, predicted, planned }, k) => ({
          model: info.architecture,
          input: images[k]!.path,
          ...(images[k]!.index !== undefined ? { imageIndex: images[k]!.index } : {}),
          predicted,
          predictedLabel: label(predicted) ?? null,
          reward,
          maskMode,
          contrast,
          ...attribution,
          ...(attribution.order ? { ranks: ranksOf(attribution.order, attribution.grid[0] * attribution.grid[1]) } : {}),
          targetLabel: label(attribution.target) ?? null,
          ...(planned ? { planned } : {}),
          seconds,
          heatmap: o.outDir !== undefined ? join(o.outDir, `${images[k]!.name}.png`) : (o.out ?? null),
        }));
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
        else writeLines([...(o.demo ? demoIntroduction(o.demo) : []), ...summary(report!, attribution), ...(o.demo ? demoConclusion(o.demo, attribution, predicted) : [])]);
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
    `${method} on ${players} players plans ${formatCount(evaluations)} coalitions, over the limit of ${formatCount(budget)}; use a coarser --grid${spec.method === 'shapley-exact' ? ' or shapley-sampling' : ''}, or raise --max-evaluations`,
  );
}

/** 1,225; powers of two past a million as 2^k (2^196 has no useful decimal). */
export function formatCount(n: number): string {
  const k = Math.log2(n);
  if (n >= 2 ** 20 && Number.isInteger(k)) return `2^${k}`;
  return n.toLocaleString('en-US');
}

function formatGflop(gflop: number): string {
  return gflop >= 1000 ? `${(gflop / 1000).toFixed(1)} TFLOP` : `${gflop.toFixed(gflop >= 10 ? 0 : 2)} GFLOP`;
}

/** rank[p]: 1-based position of player p in the order, null when the order stopped before it. */
function ranksOf(order: readonly number[], players: number): Array<number | null> {
  const ranks = new Array<number | null>(players).fill(null);
  order.forEach((p, r) => (ranks[p] = r + 1));
  return ranks;
}

function summary(r: { predicted: number; predictedLabel: string | null; targetLabel: string | null; seconds: number; heatmap: string | null }, a: Attribution): string[] {
  const name = className;
  const lines = [
    `predicted ${name(r.predicted, r.predictedLabel)}; explaining ${name(a.target, r.targetLabel)} with ${a.method} on a ${a.grid.join('x')} grid`,
  ];
  if (a.order) {
    const N = a.grid[0] * a.grid[1];
    const stopStep = a.stopStep ?? a.order.length;
    const insertion = a.method === 'moxi-insertion';
    const target = name(a.target, r.targetLabel);
    const rule = insertion ? `the prediction was ${target}` : `the prediction was no longer ${target}`;
    lines.push(
      a.stopHeld
        ? `stop rule held at step ${stopStep} of ${N}: after ${insertion ? 'inserting' : 'deleting'} ${stopStep} patch${stopStep === 1 ? '' : 'es'} ${rule}`
        : `stop rule never held: ${insertion ? `the prediction was never ${target}` : `the prediction stayed ${target}`} in all ${a.order.length} steps`,
    );
    lines.push(`patches chosen (row-major), in order: ${a.order.slice(0, stopStep).join(', ')}; rewards ${a.rewards!.slice(0, stopStep).map((v) => v.toFixed(3)).join(', ')}`);
    if (a.order.length > stopStep) {
      const rest = a.order.slice(stopStep);
      const first = rest.slice(0, 12);
      lines.push(`full ranking continues (${rest.length} more): ${first.join(', ')}${rest.length > first.length ? `, ... (all ${a.order.length} in the JSON's order and ranks)` : ''}`);
    }
  } else {
    lines.push(`highest scores: ${ranking(a).slice(0, 8).map((i) => `${i}: ${a.scores[i]!.toFixed(3)}`).join(', ')}`);
  }
  const work = isCoalitionMethod(a.method) ? `${a.evaluations} coalitions evaluated` : `${a.evaluations} forward/backward pass${a.evaluations === 1 ? '' : 'es'}`;
  lines.push(`${work} in ${r.seconds.toFixed(2)} s`);
  if (r.heatmap) lines.push(`heatmap written to ${r.heatmap}`);
  return lines;
}

