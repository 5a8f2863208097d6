import { batchSlice, type HostTensor, type ImageClassifier, type MaskMode } from '@moxi/kernels';
import { kernelShapEvaluations } from '../methods/kernel-shap.ts';
import { plannedCalls, plannedEvaluations, plannedModelFlops, plannedModelPasses, plannedWork, runMethod, runModelMethod, type MethodOptions } from '../methods/run-method.ts';
import { METHODS, MODEL_METHODS, type MethodName, type ModelMethodName } from '../attribution.ts';
import { EXPLAIN_OPTIONS } from '../explain-options.ts';
import type { ShapleySampler } from '../methods/shapley-sampling.ts';
import { ModelGames, type ModelGame } from '../model-game.ts';
import type { Normalization } from '../perturb/perturbed-images.ts';
import { perturbedImages } from '../perturb/perturbed-images.ts';
import { PAPER_PGD } from '../perturb/pgd.ts';
import { PlayerGrid } from '../player-grid.ts';
import { SeededRandom, deriveSeed } from '../random.ts';
import type { RewardKind } from '../reward.ts';
import { patchCurvesOfOrders, ranking, type PatchCurve } from './curves.ts';
import { curveKindsOf, type CurvePerturbation, type EvaluationMethod, type EvaluationRecord, type Perturbation, type RecordCurve } from './evaluation-record.ts';
import { PatchPixels } from './patch-pixels.ts';
import { forwardInChunks } from './pipelined-forward.ts';

/** How a data-set evaluation explains and measures (docs/evaluation.md). */
export interface EvaluationSettings {
  methods: readonly EvaluationMethod[];
  perturbations: readonly Perturbation[];
  /** How the explanation's game hides patches; the curves always remove them plainly. */
  maskMode: MaskMode;
  fromLayer: number;
  /** G x G players (default: the model's grid). */
  grid?: number;
  reward: RewardKind;
  /** shapley-sampling's samples (the evaluation default 16 when not given). */
  samples: number;
  /** --samples when given: kernel-shap, lime and RISE then use it instead of their own defaults. */
  givenSamples?: number;
  sampler: ShapleySampler;
  seed: number;
  /** The model's input normalisation (corruptions and PGD work on [0, 1] pixels). */
  normalization: Normalization;
  /** Coalitions (or composite images) per forward pass. */
  batchRows?: number;
}

export interface EvaluationItem {
  /** Path relative to the data set: names the image in records and seeds its randomness. */
  image: string;
  label: number;
  /** Whether the line (method, perturbation) is still to be computed (a resumed run skips done lines). */
  needs(method: EvaluationMethod, perturbation: CurvePerturbation): boolean;
}

/** The two orders a method gives one image, and what they cost. */
interface MethodOrders {
  insertionOrder: number[];
  deletionOrder: number[];
  evaluations: number;
  seconds: number;
}

export interface EvaluationProgress {
  /** Coalitions and composite images evaluated so far in this batch. */
  onEvaluations?: (count: number) => void;
  /**
   * Called once per item as soon as all of its records are computed (before the rest of
   * the batch is), with the item's index and records: a caller that writes them here loses
   * no finished image when the process is stopped mid-batch.
   */
  onImage?: (index: number, records: EvaluationRecord[]) => void;
}

/**
 * Evaluates a batch of images (all classified correctly) with every method: orders, mask
 * curves (insertion and deletion) and perturbed deletion curves. Each image's results
 * depend only on the image, its path and the settings, never on the batch it is in.
 * Returns the records of each item, in the order of `settings.methods`, mask first.
 */
export async function evaluateBatch(
  model: ImageClassifier,
  images: HostTensor,
  items: readonly EvaluationItem[],
  settings: EvaluationSettings,
  progress: EvaluationProgress = {},
): Promise<EvaluationRecord[][]> {
  const targets = items.map((it) => it.label);
  const curveMode = model.defaultMaskMode;
  const gameOptions = { targets, reward: settings.reward, maskMode: settings.maskMode, fromLayer: settings.fromLayer, ...(settings.grid !== undefined ? { grid: settings.grid } : {}), ...(settings.batchRows ? { batchRows: settings.batchRows } : {}) };
  const explainGames = await ModelGames.create(model, images, gameOptions);
  const sameGame = settings.maskMode === curveMode;
  const curveGames = sameGame ? explainGames : await ModelGames.create(model, images, { ...gameOptions, maskMode: curveMode, fromLayer: 0 });
  let counted = 0;
  const count = (n: number) => {
    counted += n;
    progress.onEvaluations?.(counted);
  };
  let lastExplain = 0;
  let lastCurves = 0;
  explainGames.onEvaluate = (n) => {
    count(n - lastExplain);
    lastExplain = n;
  };
  if (!sameGame)
    curveGames.onEvaluate = (n) => {
      count(n - lastCurves);
      lastCurves = n;
    };
  try {
    const grid = explainGames.playerGrid.grid;
    const N = explainGames.players;
    const pixels = new PatchPixels(grid, model.inputShape);
    const orders = new Map<EvaluationMethod, Array<MethodOrders | undefined>>();
    for (const method of settings.methods) {
      const wanted = items.map((it) => curveKindsOf(settings.perturbations).some((p) => it.needs(method, p)));
      if (!wanted.some(Boolean)) continue;
      orders.set(method, await methodOrders(method, model, images, explainGames, wanted, items, settings, grid, count));
    }

    const records: EvaluationRecord[][] = items.map(() => []);
    const base = (i: number, method: EvaluationMethod, o: MethodOrders) => ({
      image: items[i]!.image,
      label: items[i]!.label,
      predicted: explainGames.games[i]!.predicted,
      method,
      players: N,
      insertionOrder: o.insertionOrder,
      deletionOrder: o.deletionOrder,
    });
    const cost = (o: MethodOrders) => ({ evaluations: o.evaluations, seconds: o.seconds });

    // Which perturbations each image still needs; an image that needs none is finished with its mask curves.
    const needed = new Map(settings.perturbations.map((p) => [p, items.map((it) => [...orders.keys()].some((m) => it.needs(m, p)))] as const));
    const needsPerturbed = (i: number) => [...needed.values()].some((perImage) => perImage[i]);
    const finish = (i: number) => progress.onImage?.(i, records[i]!);

    // Mask curves of every method in one round of shared forward passes.
    await curveGames.runAll(async (game) => {
      const i = game.index;
      const methods = [...orders].filter(([method, perImage]) => perImage[i] && items[i]!.needs(method, 'mask'));
      const curves = await patchCurvesOfOrders(game, methods.map(([, perImage]) => perImage[i]!));
      methods.forEach(([method], k) => {
        const o = orders.get(method)![i]!;
        const label = items[i]!.label;
        records[i]!.push({ ...base(i, method, o), perturbation: 'mask', insertion: recordCurve(curves[k]!.insertion, label), deletion: recordCurve(curves[k]!.deletion, label), ...cost(o) });
      });
      if (!needsPerturbed(i)) finish(i);
    });

    // The perturbed copies of the whole batch (PGD's gradients share passes), then image by image.
    const perturbedSets = new Map<Perturbation, Awaited<ReturnType<typeof perturbedImages>>>();
    for (const [perturbation, perImage] of needed) {
      if (perImage.some(Boolean)) perturbedSets.set(perturbation, await perturbedImages(perturbation, model, images, targets, items.map((it) => it.image), settings.normalization, settings.seed));
    }
    for (let i = 0; i < items.length; i++) {
      if (!needsPerturbed(i)) continue;
      const clean = batchSlice(images, i).data;
      for (const [perturbation, perturbed] of perturbedSets) {
        if (!needed.get(perturbation)![i]) continue;
        const dirty = batchSlice(perturbed.images, i).data;
        for (const [method, perImage] of orders) {
          const o = perImage[i];
          if (!o || !items[i]!.needs(method, perturbation)) continue;
          const deletion = await perturbedDeletionCurve(model, pixels, clean, dirty, o.deletionOrder, items[i]!.label, settings.batchRows ?? 64);
          count(N + 1);
          records[i]!.push({
            ...base(i, method, o),
            perturbation,
            deletion,
            ...(perturbed.delta ? { perturbationNorms: pixels.norms(batchSlice({ shape: images.shape, data: perturbed.delta }, i).data, o.deletionOrder) } : {}),
            ...cost(o),
          });
        }
      }
      finish(i);
    }
    return records;
  } finally {
    explainGames.release();
    if (!sameGame) curveGames.release();
  }
}

/**
 * One method on every wanted image of the batch: its insertion and deletion orders. The
 * images are explained one at a time, so that each record's `seconds` is that image's own
 * time (the paper's Table 1), not a share of a batch; the curves, most of the work, still
 * share forward passes across the batch.
 */
async function methodOrders(
  method: EvaluationMethod,
  model: ImageClassifier,
  images: HostTensor,
  games: ModelGames,
  wanted: boolean[],
  items: readonly EvaluationItem[],
  settings: EvaluationSettings,
  grid: [number, number],
  /** Images a model method passed through the model (its coalitions are counted by the games). */
  onPasses: (passes: number) => void,
): Promise<Array<MethodOrders | undefined>> {
  const out: Array<MethodOrders | undefined> = items.map(() => undefined);
  for (let i = 0; i < items.length; i++) {
    if (!wanted[i]) continue;
    const started = performance.now();
    const before = games.games[i]!.evaluations;
    // runAll with every other game idle: this image's passes are its own.
    const o = (await games.runAll(async (game) => (game.index === i ? ordersOf(method, model, images, game, items[i]!.image, settings, grid) : undefined)))[i]!;
    out[i] = { insertionOrder: o.insertionOrder, deletionOrder: o.deletionOrder, evaluations: o.passes ?? games.games[i]!.evaluations - before, seconds: (performance.now() - started) / 1000 };
    if (o.passes) onPasses(o.passes);
  }
  return out;
}

async function ordersOf(
  method: EvaluationMethod,
  model: ImageClassifier,
  images: HostTensor,
  game: ModelGame,
  image: string,
  settings: EvaluationSettings,
  grid: [number, number],
): Promise<{ insertionOrder: number[]; deletionOrder: number[]; passes?: number }> {
  const both = (order: number[], passes?: number) => ({ insertionOrder: order, deletionOrder: order, ...(passes !== undefined ? { passes } : {}) });
  switch (method) {
    case 'moxi': {
      const insertion = await runMethod('moxi-insertion', game, grid, { stop: 'full' });
      const deletion = await runMethod('moxi-deletion', game, grid, { stop: 'full' });
      return { insertionOrder: insertion.order!, deletionOrder: deletion.order! };
    }
    case 'shapley-self':
    case 'shapley-full':
    case 'shapley-sampling':
    case 'kernel-shap':
    case 'lime':
    case 'rise-players': {
      const a = await runMethod(method, game, grid, { ...evaluationMethodOptions(method, game.players, settings), seed: deriveSeed(settings.seed, image) });
      return both(ranking(a));
    }
    case 'gradcam':
    case 'rise':
    case 'integrated-gradients':
    case 'smoothgrad':
    case 'input-x-gradient': {
      const a = await runModelMethod(method, model, batchSlice(images, game.index), game.target, { grid, ...evaluationMethodOptions(method, game.players, settings), seed: deriveSeed(settings.seed, image) });
      return both(ranking(a), a.evaluations);
    }
    case 'rollout':
    case 'chefer': {
      const a = await runModelMethod(method, model, batchSlice(images, game.index), game.target);
      const scores = poolToGrid(a.scores, a.grid, grid);
      return both(ranking({ ...a, grid, scores }), a.evaluations);
    }
    case 'random':
      return both(new SeededRandom(deriveSeed(settings.seed, `random:${image}`)).permutation(game.players), 0);
  }
}

/** Mean of a token grid's scores over each player's block of tokens (players group tokens with --grid). */
export function poolToGrid(scores: readonly number[], from: [number, number], to: [number, number]): number[] {
  if (from[0] === to[0] && from[1] === to[1]) return [...scores];
  const [bh, bw] = [from[0] / to[0], from[1] / to[1]];
  return Array.from({ length: to[0] * to[1] }, (_, p) => {
    const [py, px] = [Math.floor(p / to[1]), p % to[1]];
    let sum = 0;
    for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) sum += scores[(py * bh + y) * from[1] + px * bw + x]!;
    return sum / (bh * bw);
  });
}

function recordCurve(curve: PatchCurve, label: number): RecordCurve {
  return { correct: curve.top1.map((c) => Number(c === label)), probability: [...curve.targetProbability] };
}

/** Deletion under a perturbation: j = 0..N patches of `order` replaced by perturbed pixels. */
async function perturbedDeletionCurve(
  model: ImageClassifier,
  pixels: PatchPixels,
  clean: Float32Array,
  perturbed: Float32Array,
  order: readonly number[],
  label: number,
  rowsPerPass: number,
): Promise<RecordCurve> {
  const rows = order.length + 1;
  const curve: RecordCurve = { correct: new Array<number>(rows), probability: new Array<number>(rows) };
  await forwardInChunks(model, rows, rowsPerPass, (first, last) => pixels.composites(clean, perturbed, order, first, last), (first, top1, probability) => {
    top1.forEach((c, r) => (curve.correct[first + r] = Number(c === label)));
    probability(label).forEach((p, r) => (curve.probability[first + r] = p));
  });
  return curve;
}

/** The black-box methods of an evaluation: they evaluate coalitions of its game. */
const COALITION_EVALUATION_METHODS = ['shapley-self', 'shapley-full', 'shapley-sampling', 'kernel-shap', 'lime', 'rise-players'] as const;
type CoalitionEvaluationMethod = (typeof COALITION_EVALUATION_METHODS)[number];
const isModelMethod = (m: EvaluationMethod): m is ModelMethodName => (MODEL_METHODS as readonly string[]).includes(m);
const isCoalitionEvaluationMethod = (m: EvaluationMethod): m is CoalitionEvaluationMethod => (COALITION_EVALUATION_METHODS as readonly string[]).includes(m);

/** The sampled methods other than shapley-sampling (the option table's takers of --samples): --samples, when given, is theirs too. */
export function takesGivenSamples(method: string): boolean {
  return method !== 'shapley-sampling' && (METHODS as readonly string[]).includes(method) && EXPLAIN_OPTIONS.samples.appliesTo(method as MethodName);
}

/** KernelSHAP's coalitions in an evaluation when all 2^N - 2 would be more: about MoXI's one direction on 64 players (2,080). */
export const EVALUATION_KERNEL_SHAP_SAMPLES = 2048;

/**
 * The options a sampled method runs with in an evaluation (the seed aside, derived per
 * image). shapley-sampling follows the paper's protocol (16 samples of the shared-size
 * sampler unless given); the fitted methods and RISE take --samples when it is given, else
 * their own defaults, except that KernelSHAP fits EVALUATION_KERNEL_SHAP_SAMPLES coalitions
 * where all of them would be more.
 */
export function evaluationMethodOptions(method: CoalitionEvaluationMethod | ModelMethodName, players: number, settings: Pick<EvaluationSettings, 'samples' | 'sampler' | 'givenSamples'>): MethodOptions {
  if (method === 'shapley-sampling') return { samples: settings.samples, sampler: settings.sampler };
  if (settings.givenSamples !== undefined && takesGivenSamples(method)) return { samples: settings.givenSamples };
  if (method === 'kernel-shap' && kernelShapEvaluations(players) - 2 > EVALUATION_KERNEL_SHAP_SAMPLES) return { samples: EVALUATION_KERNEL_SHAP_SAMPLES };
  return {};
}

/** What one image costs, planned before any work (`moxi evaluate` prints it). */
export interface PlannedImageCost {
  /** Coalitions each method's explanation evaluates, or the images it passes through the model (random: 0). */
  explanations: Partial<Record<EvaluationMethod, number>>;
  /** Coalitions of the mask curves: 2 (N + 1) per method. */
  maskCurves: number;
  /** Whole images forwarded for the perturbed deletion curves: N + 1 per method and perturbation. */
  perturbedImages: number;
}

export function plannedImageCost(players: number, settings: Pick<EvaluationSettings, 'methods' | 'perturbations' | 'samples' | 'sampler' | 'givenSamples'>): PlannedImageCost {
  const N = players;
  const explanations: Partial<Record<EvaluationMethod, number>> = {};
  for (const method of settings.methods) {
    explanations[method] =
      method === 'moxi'
        ? 2 * plannedEvaluations('moxi-insertion', N)
        : isCoalitionEvaluationMethod(method)
          ? plannedEvaluations(method, N, evaluationMethodOptions(method, N, settings))
          : isModelMethod(method)
            ? plannedModelPasses(method, evaluationMethodOptions(method, N, settings)).passes
            : 0;
  }
  const methods = settings.methods.length;
  return { explanations, maskCurves: 2 * (N + 1) * methods, perturbedImages: (N + 1) * methods * settings.perturbations.length };
}

/**
 * FLOPs one image costs, planned (`moxi evaluate` prints the total): the explanations' calls
 * as planned per method (token masking pays by the longest row of a pass), the mask curves
 * at the full row cost (an upper bound: a curve's passes pad to their longest row), whole
 * images for perturbed curves, and a forward plus a backward pass (about 3 forward passes)
 * per gradient pass (Grad-CAM, PGD's steps). An estimate for ETAs, not a measurement.
 */
export function plannedImageFlops(
  model: ImageClassifier,
  settings: Pick<EvaluationSettings, 'methods' | 'perturbations' | 'samples' | 'sampler' | 'givenSamples' | 'maskMode' | 'fromLayer' | 'grid'>,
): number {
  const explain = PlayerGrid.create(model, settings.maskMode, settings.grid, settings.fromLayer);
  const curves = PlayerGrid.create(model, model.defaultMaskMode, settings.grid, 0);
  const N = explain.players;
  const full = model.flopsPerImage();
  const row = (largest: number) => explain.rowFlops(model, largest);
  let flops = 0;
  for (const method of settings.methods) {
    if (method === 'moxi') flops += plannedWork([...plannedCalls('moxi-insertion', N), ...plannedCalls('moxi-deletion', N)], row);
    else if (isCoalitionEvaluationMethod(method)) flops += plannedWork(plannedCalls(method, N, evaluationMethodOptions(method, N, settings)), row);
    else if (isModelMethod(method)) flops += plannedModelFlops(method, evaluationMethodOptions(method, N, settings), full);
    flops += 2 * (N + 1) * curves.rowFlops(model, N);
  }
  flops += (N + 1) * settings.methods.length * settings.perturbations.length * full;
  if (settings.perturbations.includes('pgd')) flops += (PAPER_PGD.steps + 1) * 3 * full;
  return flops;
}
