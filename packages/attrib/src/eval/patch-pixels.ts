import type { HostTensor } from '@moxi/kernels';

/**
 * Player p of a gh x gw grid covers a rectangle of the input image: rows
 * [py * H / gh, (py + 1) * H / gh), columns likewise (row-major p = py * gw + px). Token
 * groups of a ViT and pixel cells of a CNN both tile the image this way.
 */
export class PatchPixels {
  readonly cellHeight: number;
  readonly cellWidth: number;

  constructor(
    readonly grid: [number, number],
    readonly shape: [number, number, number],
  ) {
    const [, H, W] = shape;
    if (H % grid[0] !== 0 || W % grid[1] !== 0) throw new Error(`internal: a ${grid.join('x')} grid does not tile ${H}x${W} pixels`);
    this.cellHeight = H / grid[0];
    this.cellWidth = W / grid[1];
  }

  get players(): number {
    return this.grid[0] * this.grid[1];
  }

  /** Calls `visit(i)` for every element index of player p in one CHW image. */
  forEach(p: number, visit: (i: number) => void): void {
    const [C, H, W] = this.shape;
    const y0 = Math.floor(p / this.grid[1]) * this.cellHeight;
    const x0 = (p % this.grid[1]) * this.cellWidth;
    for (let c = 0; c < C; c++)
      for (let y = y0; y < y0 + this.cellHeight; y++) {
        const row = (c * H + y) * W;
        for (let x = x0; x < x0 + this.cellWidth; x++) visit(row + x);
      }
  }

  /**
   * Rows j = first..last-1 of a deletion curve under a perturbation: the clean image with
   * the first j players of `order` replaced by the perturbed image's pixels. [rows, C, H, W].
   */
  composites(clean: Float32Array, perturbed: Float32Array, order: readonly number[], first: number, last: number): HostTensor {
    const per = clean.length;
    const data = new Float32Array((last - first) * per);
    const current = Float32Array.from(clean);
    for (let j = 0; j < last; j++) {
      if (j >= first) data.set(current, (j - first) * per);
      if (j < order.length) this.forEach(order[j]!, (i) => (current[i] = perturbed[i]!));
    }
    return { shape: [last - first, ...this.shape], data };
  }

  /** L2 norm of `delta` (one CHW image) on each player, in the order given. */
  norms(delta: Float32Array, order: readonly number[]): number[] {
    return order.map((p) => {
      let sum = 0;
      this.forEach(p, (i) => (sum += delta[i]! ** 2));
      return Math.sqrt(sum);
    });
  }
}
