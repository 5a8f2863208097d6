import type { HostTensor, ImageClassifier, MaskMode, PreparedInput } from '@moxi/kernels';
import type { CoalitionGame, CoalitionValues } from './game.ts';
import { PlayerGrid } from './player-grid.ts';
import { logProb, reward, type RewardKind, type RewardSpec } from './reward.ts';

export interface ModelGameOptions {
  /** Class to explain; default the model's prediction on the full image. */
  target?: number;
  reward?: RewardKind;
  maskMode?: MaskMode;
  /** Attention mode: first block whose attention is masked. */
  fromLayer?: number;
  /** Player grid G (G x G players); default the model's grid. */
  grid?: number;
  /** Coalitions per forward call: bounds host memory and paces progress reports. */
  batchRows?: number;
}

/**
 * v(S) for one image and one model: the image is uploaded once (a ViT's patch embeddings
 * are computed once), and each call runs its coalitions as batched forward passes.
 */
export class ModelGame implements CoalitionGame {
  evaluations = 0;
  /** Called after each forward call with the running count (progress bars). */
  onEvaluate: ((evaluations: number) => void) | undefined;

  private constructor(
    readonly model: ImageClassifier,
    readonly playerGrid: PlayerGrid,
    private readonly input: PreparedInput,
    readonly target: number,
    /** The class predicted on the full image. */
    readonly predicted: number,
    private readonly rewardSpec: RewardSpec,
    private readonly options: ModelGameOptions,
  ) {}

  static async create(model: ImageClassifier, image: HostTensor, options: ModelGameOptions = {}): Promise<ModelGame> {
    if (image.shape[0] !== 1) throw new Error(`ModelGame explains one image, got a batch of ${image.shape[0]}`);
    const grid = PlayerGrid.create(model, options.maskMode ?? model.defaultMaskMode, options.grid, options.fromLayer);
    const input = model.prepare(image);
    const full = await model.forward(input);
    const logits = full.logits;
    let predicted = 0;
    for (let c = 1; c < logits.length; c++) if (logits[c]! > logits[predicted]!) predicted = c;
    const target = options.target ?? predicted;
    const spec: RewardSpec = { kind: options.reward ?? 'logodds', target, predicted };
    return new ModelGame(model, grid, input, target, predicted, spec, options);
  }

  get players(): number {
    return this.playerGrid.players;
  }

  async evaluate(coalitions: ReadonlyArray<ReadonlyArray<number>>): Promise<CoalitionValues> {
    const n = coalitions.length;
    const out: CoalitionValues = { rewards: new Float64Array(n), top1: new Int32Array(n), targetProbability: new Float64Array(n) };
    const batch = this.options.batchRows ?? 256;
    for (let start = 0; start < n; start += batch) {
      const part = coalitions.slice(start, start + batch);
      const result = await this.model.forward(this.input, { mask: this.playerGrid.mask(part), rowImage: new Array<number>(part.length).fill(0) });
      const C = result.classes;
      for (let r = 0; r < part.length; r++) {
        const z = result.logits.subarray(r * C, (r + 1) * C);
        let top = 0;
        for (let c = 1; c < C; c++) if (z[c]! > z[top]!) top = c;
        out.rewards[start + r] = reward(z, this.rewardSpec);
        out.top1[start + r] = top;
        out.targetProbability[start + r] = Math.exp(logProb(z, this.target));
      }
      this.evaluations += part.length;
      this.onEvaluate?.(this.evaluations);
    }
    return out;
  }

  release(): void {
    this.input.release();
  }
}
