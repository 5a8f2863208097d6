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
 * Placeholder elements a reader hands out for missing or mis-shaped weights (so that every
 * problem is collected before one error): past this many, it stops at once. A config that
 * claims sizes the weights do not have would otherwise have them allocated first.
 */
const MAX_PLACEHOLDER_ELEMENTS = 2 ** 24;

/**
 * Takes weights by name and expected shape, collecting every problem (missing,
 * mis-shaped, left over) so the user sees them all in one message rather than one per run.
 */
export class WeightReader {
  private readonly used = new Set<string>();
  private readonly problems: string[] = [];
  private placeholderElements = 0;

  constructor(
    private readonly source: TensorSource,
    /** Weights a checkpoint may carry that the forward pass does not need. */
    private readonly ignorable: RegExp | undefined = undefined,
  ) {}

  take(name: string, shape: readonly number[]): Float32Array {
    this.used.add(name);
    const actual = this.source.shapes.get(name);
    if (!actual) return this.placeholder(`missing weight ${name} [${shape.join(', ')}]`, shape);
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      return this.placeholder(`weight ${name} has shape [${actual.join(', ')}], expected [${shape.join(', ')}]`, shape);
    }
    return this.source.read(name);
  }

  /**
   * The config's claim against the weights before anything is sized from it: `count`
   * numbered groups (blocks.0. .. blocks.{count-1}.) must be exactly the ones present.
   */
  expectNumbered(prefix: string, count: number, what: string, configHint: string): void {
    const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}(\\d+)\\.`);
    let present = 0;
    for (const name of this.source.shapes.keys()) {
      const m = pattern.exec(name);
      if (m) present = Math.max(present, Number(m[1]) + 1);
    }
    if (present !== count) throw new InputError(this.source.file, `holds ${present} ${what} (${prefix}0 .. ${prefix}${present - 1}), but ${configHint}`);
  }

  private placeholder(problem: string, shape: readonly number[]): Float32Array {
    this.problems.push(problem);
    const elements = shape.reduce((a, b) => a * b, 1);
    this.placeholderElements += elements;
    if (!Number.isSafeInteger(elements) || this.placeholderElements > MAX_PLACEHOLDER_ELEMENTS) this.finish('');
    return new Float32Array(elements);
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
    throw new InputError(this.source.file, `${shown}${more}${configHint ? ` (${configHint})` : ''}`);
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
