import { InputError } from '../io/input-error.ts';

/** Named tensors from a checkpoint, converted to float32 on demand. */
export interface TensorSource {
  /** Shown in error messages: the weights file. */
  file: string;
  shapes: ReadonlyMap<string, readonly number[]>;
  read(name: string): Float32Array;
}

const MAX_LISTED = 6;

/**
 * Takes weights by name and expected shape, collecting every problem (missing,
 * mis-shaped, left over) so the user sees them all in one message rather than one per run.
 */
export class WeightReader {
  private readonly used = new Set<string>();
  private readonly problems: string[] = [];

  constructor(
    private readonly source: TensorSource,
    /** Weights a checkpoint may carry that the forward pass does not need. */
    private readonly ignorable: RegExp | undefined = undefined,
  ) {}

  take(name: string, shape: readonly number[]): Float32Array {
    this.used.add(name);
    const actual = this.source.shapes.get(name);
    const expected = shape.reduce((a, b) => a * b, 1);
    if (!actual) {
      this.problems.push(`missing weight ${name} [${shape.join(', ')}]`);
      return new Float32Array(expected);
    }
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      this.problems.push(`weight ${name} has shape [${actual.join(', ')}], expected [${shape.join(', ')}]`);
      return new Float32Array(expected);
    }
    return this.source.read(name);
  }

  has(name: string): boolean {
    return this.source.shapes.has(name);
  }

  /** Throws one InputError naming every problem, including weights nobody asked for. */
  finish(configHint: string): void {
    const unexpected = [...this.source.shapes.keys()].filter(
      (n) => !this.used.has(n) && !(this.ignorable?.test(n) ?? false),
    );
    if (unexpected.length > 0) {
      const shown = unexpected.slice(0, MAX_LISTED).join(', ');
      const more = unexpected.length > MAX_LISTED ? ` and ${unexpected.length - MAX_LISTED} more` : '';
      this.problems.push(`unexpected weight${unexpected.length > 1 ? 's' : ''} ${shown}${more}`);
    }
    if (this.problems.length === 0) return;
    const shown = this.problems.slice(0, MAX_LISTED).join('; ');
    const more = this.problems.length > MAX_LISTED ? `; and ${this.problems.length - MAX_LISTED} more problems` : '';
    throw new InputError(this.source.file, `${shown}${more} (${configHint})`);
  }
}

/** [out, in] PyTorch linear weight -> [in, out], the layout the matmul kernel reads. */
export function transposeMatrix(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) t[c * rows + r] = w[base + c]!;
  }
  return t;
}
