import { checkMaskMode, numberDefault } from './explain-options.ts';
import { checkPixelGrid, OptionError, type ImageClassifier, type MaskMode, type PatchMask } from '@moxi/kernels';

/**
 * The players of an explanation and how a coalition of them becomes a model mask
 * (docs/players-and-masking.md): for a ViT in token or attention mode, G x G groups of the
 * token grid (G must divide it; default: every token its own player); in pixel mode, the
 * cells of a G x G grid of the input (G must divide H and W).
 */
export class PlayerGrid {
  readonly players: number;

  private constructor(
    readonly grid: [number, number],
    readonly mode: MaskMode,
    private readonly fromLayer: number,
    /** Mask units (tokens or cells) of each player. */
    private readonly units: number[][],
  ) {
    this.players = grid[0] * grid[1];
  }

  static create(model: ImageClassifier, mode: MaskMode, grid?: number, fromLayer = numberDefault('fromLayer')): PlayerGrid {
    checkMaskMode(mode, undefined, { family: model.kind });
    if (mode === 'pixel') {
      const g: [number, number] = grid === undefined ? model.grid : [grid, grid];
      checkPixelGrid(g, [model.inputShape[1], model.inputShape[2]]);
      return new PlayerGrid(g, mode, fromLayer, Array.from({ length: g[0] * g[1] }, (_, p) => [p]));
    }
    const [th, tw] = model.grid;
    const g: [number, number] = grid === undefined ? [th, tw] : [grid, grid];
    if (th % g[0] !== 0 || tw % g[1] !== 0) {
      throw new OptionError('grid', `${g[0]}x${g[1]} groups do not tile the ${th}x${tw} token grid (choose a divisor of ${th} and ${tw})`);
    }
    const [bh, bw] = [th / g[0], tw / g[1]];
    const units = Array.from({ length: g[0] * g[1] }, (_, p) => {
      const [py, px] = [Math.floor(p / g[1]), p % g[1]];
      const tokens: number[] = [];
      for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) tokens.push((py * bh + y) * tw + px * bw + x);
      return tokens;
    });
    return new PlayerGrid(g, mode, fromLayer, units);
  }

  /**
   * FLOPs of one forward row whose largest coalition in its pass has `largest` players:
   * token masking removes the other tokens (a pass pads its rows to the longest); pixel
   * and attention masking run every token whatever is hidden.
   */
  rowFlops(model: ImageClassifier, largest: number): number {
    return this.mode === 'token' ? model.flopsPerImage(largest * this.units[0]!.length) : model.flopsPerImage();
  }

  /** The model mask that shows exactly these coalitions, one row each. */
  mask(coalitions: ReadonlyArray<ReadonlyArray<number>>): PatchMask {
    const keep = coalitions.map((c) => c.flatMap((p) => this.units[p]!));
    if (this.mode === 'pixel') return { mode: 'pixel', keep, grid: this.grid };
    if (this.mode === 'attention') return { mode: 'attention', keep, fromLayer: this.fromLayer };
    return { mode: 'token', keep };
  }
}
