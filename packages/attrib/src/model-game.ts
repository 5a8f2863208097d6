import type { HostTensor, ImageClassifier, MaskMode, PreparedInput } from '@moxi/kernels';
import type { CoalitionGame, CoalitionValues } from './game.ts';
import { optionDefault } from './explain-options.ts';
import { inFlight } from './in-flight.ts';
import { PlayerGrid } from './player-grid.ts';
import { logProb, reward, topClass, type RewardKind, type RewardSpec } from './reward.ts';

export interface ModelGameOptions {
  /** Class to explain (the evidence for it); default the model's prediction on the full image. */
  target?: number;
  /**
   * The paper's App. F: explain the target against the class predicted on the full image
   * (reward logodds_predicted - logodds_target; docs/rewards.md).
   */
  contrast?: boolean;
  reward?: RewardKind;
  maskMode?: MaskMode;
  /** Attention mode: first block whose attention is masked. */
  fromLayer?: number;
  /** Player grid G (G x G players); default the model's grid. */
  grid?: number;
  /** Coalitions per forward call: bounds host memory and paces progress reports. */
  batchRows?: number;
  /**
   * Remember v(S) per image and never evaluate a coalition twice. Worth it when many
   * methods run on the same small game (SET-SUM: 4 players, 16 coalitions); `evaluations`
   * then counts forward-pass rows, not the coalitions each method asked for.
   */
  memoize?: boolean;
}

interface Request {
  game: ModelGame;
  coalitions: ReadonlyArray<ReadonlyArray<number>>;
  resolve: (values: CoalitionValues) => void;
  reject: (error: unknown) => void;
}

/**
 * v(S) for one model and a batch of images: the images are uploaded once (a ViT's patch
 * embeddings are computed once), and coalitions of many images run in the same forward
 * passes. Methods run on each image concurrently through `runAll`; every evaluate() call
 * waits until each image still running has asked, then all of them go to the GPU as one
 * batch: the steps of many images' greedy searches share a dispatch.
 */
export class ModelGames {
  /**
   * Called after each forward call with the running count of coalitions and of their FLOPs
   * (PlayerGrid.rowFlops: what ETAs are based on, since rows differ in cost).
   */
  onEvaluate: ((evaluations: number, flops: number) => void) | undefined;
  evaluations = 0;
  flops = 0;
  private pending: Request[] = [];
  private running = 0;

  private constructor(
    readonly model: ImageClassifier,
    readonly playerGrid: PlayerGrid,
    private readonly input: PreparedInput,
    readonly games: ModelGame[],
    private readonly batchRows: number,
  ) {}

  static async create(model: ImageClassifier, images: HostTensor, options: ModelGameOptions & { targets?: readonly number[] } = {}): Promise<ModelGames> {
    const grid = PlayerGrid.create(model, options.maskMode ?? model.defaultMaskMode, options.grid, options.fromLayer);
    const input = model.prepare(images);
    const full = await model.forward(input);
    const C = full.classes;
    const games: ModelGame[] = [];
    const owner = new ModelGames(model, grid, input, games, options.batchRows ?? 256);
    for (let i = 0; i < full.rows; i++) {
      const z = full.logits.subarray(i * C, (i + 1) * C);
      const predicted = topClass(z);
      const target = options.targets?.[i] ?? options.target ?? predicted;
      games.push(new ModelGame(owner, i, target, predicted, Math.exp(logProb(z, target)), { kind: options.reward ?? (optionDefault('reward') as RewardKind), target, ...(options.contrast ? { contrast: predicted } : {}) }, options.memoize ?? false));
    }
    return owner;
  }

  get players(): number {
    return this.playerGrid.players;
  }

  /** Runs `method` on every image's game concurrently, batching their evaluations. */
  async runAll<T>(method: (game: ModelGame) => Promise<T>): Promise<T[]> {
    this.running = this.games.length;
    try {
      return await Promise.all(
        this.games.map(async (game) => {
          try {
            return await method(game);
          } finally {
            this.running -= 1;
            this.flushIfReady();
          }
        }),
      );
    } finally {
      this.running = 0;
    }
  }

  /** Queued by a game; sent to the GPU once every running game has asked (or at once outside runAll). */
  request(game: ModelGame, coalitions: ReadonlyArray<ReadonlyArray<number>>): Promise<CoalitionValues> {
    return new Promise((resolve, reject) => {
      this.pending.push({ game, coalitions, resolve, reject });
      this.flushIfReady();
    });
  }

  private flushIfReady(): void {
    if (this.pending.length === 0 || this.pending.length < this.running) return;
    const batch = this.pending;
    this.pending = [];
    this.evaluateBatch(batch).catch((error) => batch.forEach((r) => r.reject(error)));
  }

  private async evaluateBatch(batch: Request[]): Promise<void> {
    const rows = batch.flatMap((r) => r.coalitions.map((c) => ({ request: r, coalition: c })));
    const results = batch.map((r) => {
      const n = r.coalitions.length;
      return { rewards: new Float64Array(n), top1: new Int32Array(n), targetProbability: new Float64Array(n) };
    });
    const slot = new Map(batch.map((r, k) => [r, { values: results[k]!, next: 0 }]));
    const starts = Array.from({ length: Math.ceil(rows.length / this.batchRows) }, (_, k) => k * this.batchRows);
    await inFlight(
      starts,
      (start) => {
        const part = rows.slice(start, start + this.batchRows);
        return this.model.forward(this.input, {
          mask: this.playerGrid.mask(part.map((p) => p.coalition)),
          rowImage: part.map((p) => p.request.game.index),
        });
      },
      (result, start) => {
        const part = rows.slice(start, start + this.batchRows);
        const C = result.classes;
        part.forEach(({ request }, r) => {
          const z = result.logits.subarray(r * C, (r + 1) * C);
          const top = topClass(z);
          const s = slot.get(request)!;
          const game = request.game;
          s.values.rewards[s.next] = reward(z, game.rewardSpec);
          s.values.top1[s.next] = top;
          s.values.targetProbability[s.next] = Math.exp(logProb(z, game.target));
          s.next += 1;
        });
        this.evaluations += part.length;
        this.flops += part.length * this.playerGrid.rowFlops(this.model, Math.max(...part.map((p) => p.coalition.length)));
        this.onEvaluate?.(this.evaluations, this.flops);
      },
    );
    batch.forEach((r, k) => {
      r.game.evaluations += r.coalitions.length;
      r.resolve(results[k]!);
    });
  }

  release(): void {
    this.input.release();
  }
}

/** v(S) of one coalition, as remembered by a memoizing game. */
interface CoalitionValue {
  reward: number;
  top1: number;
  targetProbability: number;
}

/** The game of one image of a ModelGames batch. */
export class ModelGame implements CoalitionGame {
  evaluations = 0;
  private readonly memo: Map<string, CoalitionValue> | undefined;

  constructor(
    private readonly owner: ModelGames,
    readonly index: number,
    readonly target: number,
    /** The class predicted on the full image. */
    readonly predicted: number,
    /** p(target) on the full image. */
    readonly fullProbability: number,
    readonly rewardSpec: RewardSpec,
    memoize = false,
  ) {
    this.memo = memoize ? new Map() : undefined;
  }

  get players(): number {
    return this.owner.players;
  }

  evaluate(coalitions: ReadonlyArray<ReadonlyArray<number>>): Promise<CoalitionValues> {
    return this.memo ? this.evaluateMemoized(coalitions, this.memo) : this.owner.request(this, coalitions);
  }

  private async evaluateMemoized(coalitions: ReadonlyArray<ReadonlyArray<number>>, memo: Map<string, CoalitionValue>): Promise<CoalitionValues> {
    const keys = coalitions.map((c) => [...c].sort((a, b) => a - b).join(','));
    const missing = new Map<string, ReadonlyArray<number>>();
    keys.forEach((key, i) => {
      if (!memo.has(key) && !missing.has(key)) missing.set(key, coalitions[i]!);
    });
    // Every running game must ask once per round (see ModelGames.flushIfReady), even with nothing new.
    const fresh = await this.owner.request(this, [...missing.values()]);
    [...missing.keys()].forEach((key, r) =>
      memo.set(key, { reward: fresh.rewards[r]!, top1: fresh.top1[r]!, targetProbability: fresh.targetProbability[r]! }),
    );
    const values = keys.map((key) => memo.get(key)!);
    return {
      rewards: Float64Array.from(values, (v) => v.reward),
      top1: Int32Array.from(values, (v) => v.top1),
      targetProbability: Float64Array.from(values, (v) => v.targetProbability),
    };
  }
}
