/**
 * stdout carries results only: with --json exactly one JSON document, otherwise a short
 * human-readable report. Progress and logs go to stderr.
 */
export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function writeLines(lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A one-line progress bar on stderr, redrawn in place on terminals, silent otherwise. */
export class ProgressBar {
  private readonly enabled = process.stderr.isTTY === true;
  private readonly start = performance.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    if (!this.enabled) return;
    done = Math.min(done, this.total);
    const width = 24;
    const filled = Math.round((done / this.total) * width);
    const elapsed = (performance.now() - this.start) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : 0;
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${elapsed.toFixed(1)}s eta ${eta.toFixed(1)}s `);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}
