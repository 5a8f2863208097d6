import type { Command } from 'commander';
import {
  DEFAULT_MAX_EVALUATIONS,
  DEFAULT_SAMPLES,
  isCoalitionMethod,
  METHODS,
  ModelGames,
  plannedEvaluations,
  renderHeatmap,
  runMethod,
  runModelMethod,
  type Attribution,
  type CoalitionMethodName,
  type HeadFusion,
  type MethodName,
  type MethodOptions,
  type ModelGameOptions,
  type ModelMethodName,
  type RewardKind,
} from '@moxi/attrib';
import { batchSlice, type HostTensor, type ImageClassifier, type MaskMode } from '@moxi/kernels';
import { readInputFile } from '@moxi/kernels/node';
import { usageError } from '../cli-error.ts';
import { backdropPixels, checkOutputPath, writePng } from '../heatmap-file.ts';
import { openGpuSession, prepareModelFromOptions, type GpuSession } from '../model-session.ts';
import { parseChoice, parseNonNegativeInt, parsePositiveInt } from '../option-parsers.ts';
import { ProgressBar, writeJson, writeLines } from '../output.ts';
import { demoConclusion, demoIntroduction, withDemoDefaults } from './explain-demo.ts';
import type { CommandRunner } from '../run-command.ts';

export interface ExplainOptions {
  model?: string;
  arch?: string;
  input?: string;
  imageIndex?: string;
  method: string;
  target?: string;
  reward: string;
  maskMode?: string;
  maskFromLayer: string;
  grid?: string;
  stop?: string;
  minConfidence: string;
  samples: string;
  sampler: string;
  seed: string;
  maxEvaluations: string;
  augSmooth?: boolean;
  eigenSmooth?: boolean;
  headFusion: string;
  discardRatio: string;
  out?: string;
  opacity: string;
  json?: boolean;
}

function parseUnit(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw usageError(flag, `"${value}" is not a number in [0, 1]`);
  return n;
}

export function registerExplain(program: Command, run: CommandRunner): void {
  program
    .command('explain')
    .description('find the patches that drive a prediction (MoXI) or score them (Shapley values, interactions)')
    .option('-m, --model <path>', 'model folder (timm or Hugging Face) or .safetensors file')
    .option('--arch <name>', 'timm architecture of a bare .safetensors file')
    .option('-i, --input <file>', 'one image (PNG / JPEG) or a .npy [3,H,W] / [B,3,H,W] already normalised')
    .option('--image-index <i>', 'which image of a .npy batch to explain')
    .option('--method <name>', `${METHODS.join(' | ')}`, 'moxi-insertion')
    .option('--target <class>', 'class to explain (default: the predicted class); another class makes the reward class-discriminative')
    .option('--reward <kind>', 'logodds | logprob | logit', 'logodds')
    .option('--mask-mode <mode>', 'token | attention (ViT) | pixel; default token for ViTs, pixel for CNNs')
    .option('--mask-from-layer <k>', 'attention mode: first block whose attention is masked', '0')
    .option('--grid <G>', 'G x G players: groups of tokens (ViT) or pixel cells; default every token, or 14 cells for CNNs')
    .option('--stop <rule>', 'MoXI: full (rank every patch) | correct (stop once the prediction is the target); default full, correct for the demo')
    .option('--min-confidence <p>', 'MoXI insertion with --stop correct: also require p(target) >= p', '0')
    .option('--samples <n>', 'shapley-sampling: permutations (or iterations of --sampler shared-size)', String(DEFAULT_SAMPLES))
    .option('--sampler <kind>', 'shapley-sampling: permutation (antithetic) | shared-size (the official MoXI code)', 'permutation')
    .option('--seed <s>', 'shapley-sampling: random seed', '0')
    .option('--max-evaluations <n>', 'shapley-exact: refuse beyond this many coalitions', String(DEFAULT_MAX_EVALUATIONS))
    .option('--aug-smooth', 'gradcam: average over horizontal flips and input scales 0.9, 1, 1.1')
    .option('--eigen-smooth', 'gradcam: first principal component of the weighted activations')
    .option('--head-fusion <f>', 'rollout: how heads combine, mean | max | min', 'mean')
    .option('--discard-ratio <r>', 'rollout: share of each row\'s lowest attention dropped (CLS column kept)', '0')
    .option('-o, --out <file.png>', 'write a heatmap: the image with scores, patch grid and MoXI order')
    .option('--opacity <a>', 'heatmap overlay opacity in [0, 1]', '0.55')
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (given: ExplainOptions) => {
      const o = withDemoDefaults(given);
      const method: MethodName = parseChoice('--method', o.method, METHODS);
      const reward = parseChoice('--reward', o.reward, ['logodds', 'logprob', 'logit'] as const) as RewardKind;
      const stop = parseChoice('--stop', o.stop ?? 'full', ['full', 'correct'] as const);
      const sampler = parseChoice('--sampler', o.sampler, ['permutation', 'shared-size'] as const);
      const methodOptions: MethodOptions = {
        stop,
        minConfidence: parseUnit('--min-confidence', o.minConfidence),
        samples: parsePositiveInt('--samples', o.samples),
        sampler,
        seed: parseNonNegativeInt('--seed', o.seed),
        maxEvaluations: parsePositiveInt('--max-evaluations', o.maxEvaluations),
      };
      const opacity = parseUnit('--opacity', o.opacity);
      const fusion = parseChoice('--head-fusion', o.headFusion, ['mean', 'max', 'min'] as const) as HeadFusion;
      const discardRatio = parseUnit('--discard-ratio', o.discardRatio);
      if (o.out) checkOutputPath(o.out);

      const prepared = prepareModelFromOptions(o);
      if (!o.input) throw usageError('--input', 'is required (an image or a .npy tensor)');
      const batch = readInputFile(o.input, prepared.info.inputShape, prepared.preprocessing);
      const count = batch.shape[0]!;
      if (count > 1 && o.imageIndex === undefined) throw usageError('--input', `${o.input} holds ${count} images; pick one with --image-index 0..${count - 1}`);
      const index = o.imageIndex === undefined ? 0 : parseNonNegativeInt('--image-index', o.imageIndex);
      if (index >= count) throw usageError('--image-index', `${index} is out of range (${o.input} holds ${count} image${count > 1 ? 's' : ''})`);
      const input = batchSlice(batch, index);
      const { info } = prepared;
      const maskMode = (o.maskMode === undefined ? (info.family === 'vit' ? 'token' : 'pixel') : parseChoice('--mask-mode', o.maskMode, ['token', 'attention', 'pixel'] as const)) as MaskMode;
      const gameOptions: ModelGameOptions = { reward, maskMode, fromLayer: parseNonNegativeInt('--mask-from-layer', o.maskFromLayer) };
      if (maskMode === 'attention' && gameOptions.fromLayer! >= Number(info.details.depth)) {
        throw usageError('--mask-from-layer', `${gameOptions.fromLayer} is past the last block (the model has ${info.details.depth})`);
      }
      if (o.grid !== undefined) gameOptions.grid = parsePositiveInt('--grid', o.grid);
      if (o.target !== undefined) {
        const target = parseNonNegativeInt('--target', o.target);
        if (target >= info.numClasses) throw usageError('--target', `class ${target} is out of range (the model has ${info.numClasses} classes: 0..${info.numClasses - 1})`);
        gameOptions.target = target;
      }

      if (method === 'rollout' && info.family !== 'vit') throw usageError('--method', `rollout needs a ViT; ${info.architecture} has no attention`);
      if (method === 'rollout' && o.grid !== undefined) throw usageError('--grid', 'rollout scores the token grid; leave --grid out');

      const session = await openGpuSession(prepared);
      const started = performance.now();
      try {
        const { attribution, predicted } = isCoalitionMethod(method)
          ? await explainByCoalitions(session, input, method, gameOptions, methodOptions)
          : await explainByModel(session, input, method, gameOptions, { augSmooth: o.augSmooth === true, eigenSmooth: o.eigenSmooth === true, fusion, discardRatio });
        const seconds = (performance.now() - started) / 1000;
        if (o.out) {
          const image = backdropPixels(o.input, input, prepared.preprocessing);
          const heatmap = renderHeatmap({
            image,
            grid: attribution.grid,
            scores: attribution.scores,
            opacity,
            ...(attribution.order ? { order: attribution.order, orderShown: attribution.stopStep ?? attribution.order.length } : {}),
          });
          writePng(o.out, heatmap);
        }
        const label = (c: number) => prepared.labels?.[c];
        const report = {
          model: info.architecture,
          input: o.input,
          predicted,
          predictedLabel: label(predicted) ?? null,
          reward,
          maskMode,
          ...attribution,
          targetLabel: label(attribution.target) ?? null,
          seconds,
          heatmap: o.out ?? null,
        };
        if (o.json) writeJson(report);
        else writeLines([...(o.demo ? demoIntroduction(o.demo) : []), ...summary(report, attribution), ...(o.demo ? demoConclusion(o.demo, attribution, predicted) : [])]);
      } finally {
        session.close();
      }
    }));
}

async function explainByCoalitions(
  session: GpuSession,
  input: HostTensor,
  method: CoalitionMethodName,
  gameOptions: ModelGameOptions,
  methodOptions: MethodOptions,
): Promise<{ attribution: Attribution; predicted: number }> {
  const games = await ModelGames.create(session.model, input, gameOptions);
  const game = games.games[0]!;
  const bar = new ProgressBar(method, plannedEvaluations(method, games.players, methodOptions));
  games.onEvaluate = (n) => bar.update(n);
  try {
    return { attribution: await runMethod(method, game, games.playerGrid.grid, methodOptions), predicted: game.predicted };
  } finally {
    bar.done();
    games.release();
  }
}

async function predictedClass(model: ImageClassifier, input: HostTensor): Promise<number> {
  const { logits } = await model.forward(input);
  let best = 0;
  for (let c = 1; c < logits.length; c++) if (logits[c]! > logits[best]!) best = c;
  return best;
}

async function explainByModel(
  session: GpuSession,
  input: HostTensor,
  method: ModelMethodName,
  gameOptions: ModelGameOptions,
  smoothing: { augSmooth: boolean; eigenSmooth: boolean; fusion: HeadFusion; discardRatio: number },
): Promise<{ attribution: Attribution; predicted: number }> {
  const predicted = await predictedClass(session.model, input);
  const grid = gameOptions.grid === undefined ? session.model.grid : ([gameOptions.grid, gameOptions.grid] as [number, number]);
  const attribution = await runModelMethod(method, session.model, input, gameOptions.target ?? predicted, { grid, ...smoothing });
  return { attribution, predicted };
}

function summary(r: { predicted: number; predictedLabel: string | null; targetLabel: string | null; seconds: number; heatmap: string | null }, a: Attribution): string[] {
  // SET-SUM's label names are the sums themselves: "13 (13)" says nothing twice.
  const name = (c: number, l: string | null) => (l && l !== String(c) ? `${c} (${l})` : String(c));
  const lines = [
    `predicted ${name(r.predicted, r.predictedLabel)}; explaining ${name(a.target, r.targetLabel)} with ${a.method} on a ${a.grid.join('x')} grid`,
  ];
  if (a.order) {
    const shown = a.order.slice(0, a.stopStep ?? a.order.length);
    lines.push(`patches chosen (row-major), in order: ${shown.join(', ')}`);
    lines.push(`stop rule held at step ${a.stopStep} of ${a.grid[0] * a.grid[1]}; rewards ${a.rewards!.slice(0, shown.length).map((v) => v.toFixed(3)).join(', ')}`);
  } else {
    const top = a.scores.map((s, i) => [s, i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, 8);
    lines.push(`highest scores: ${top.map(([s, i]) => `${i}: ${s.toFixed(3)}`).join(', ')}`);
  }
  const work = isCoalitionMethod(a.method) ? `${a.evaluations} coalitions evaluated` : `${a.evaluations} forward/backward pass${a.evaluations === 1 ? '' : 'es'}`;
  lines.push(`${work} in ${r.seconds.toFixed(2)} s`);
  if (r.heatmap) lines.push(`heatmap written to ${r.heatmap}`);
  return lines;
}

