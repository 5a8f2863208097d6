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

/** Seconds between progress lines when stderr is not a terminal (a log file, a Slurm output). */
const PLAIN_PROGRESS_INTERVAL = 5;

/**
 * Progress on stderr: a bar redrawn in place on a terminal; otherwise (a log file, a
 * Slurm job's output) a plain line every few seconds and one at the end.
 *
 * With `work` (the planned total of some cost unit, e.g. FLOPs, when steps differ in
 * cost) the ETA extrapolates the work done, not the step count, and the first update
 * prints one line with the estimate for the whole run.
 */
export class ProgressBar {
  private readonly terminal = process.stderr.isTTY === true;
  private readonly start = performance.now();
  private lastPlain = -Infinity;
  private lastDone = 0;
  private lastDetail = '';
  private workDone = 0;
  private estimated = false;
  /** What the last plain line showed, so done() does not repeat it. */
  private lastPlainText = '';

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly work?: number,
  ) {}

  /** `detail` is shown after the counts (e.g. "412 coalitions/s"); `workDone` counts toward `work`. */
  update(done: number, detail = '', workDone?: number): void {
    done = Math.min(done, this.total);
    this.lastDone = done;
    this.lastDetail = detail;
    if (workDone !== undefined) this.workDone = workDone;
    const elapsed = (performance.now() - this.start) / 1000;
    if (!this.estimated && this.work !== undefined && this.workDone > 0 && done < this.total) {
      this.estimated = true;
      const line = `${this.label}: estimate ${formatDuration(this.remaining(done, elapsed) + elapsed)} in all, from the first ${done} of ${this.total}`;
      process.stderr.write(this.terminal ? `\r\x1b[K${line}\n` : `${line}\n`);
    }
    if (this.terminal) {
      const width = 24;
      const filled = this.total > 0 ? Math.round((done / this.total) * width) : width;
      process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.counts(done, elapsed, detail)} `);
    } else if (elapsed - this.lastPlain >= PLAIN_PROGRESS_INTERVAL) {
      this.lastPlain = elapsed;
      this.lastPlainText = `${done} ${detail}`;
      process.stderr.write(`${this.label}: ${this.counts(done, elapsed, detail)}\n`);
    }
  }

  done(): void {
    if (this.terminal) process.stderr.write('\n');
    else if (this.lastDone > 0 && this.lastPlainText !== `${this.lastDone} ${this.lastDetail}`) process.stderr.write(`${this.label}: ${this.counts(this.lastDone, (performance.now() - this.start) / 1000, this.lastDetail)}\n`);
  }

  /** Seconds left: by work when there is a plan of it, else by steps. */
  private remaining(done: number, elapsed: number): number {
    if (this.work !== undefined && this.workDone > 0) return (elapsed / this.workDone) * Math.max(0, this.work - this.workDone);
    return (elapsed / done) * (this.total - done);
  }

  private counts(done: number, elapsed: number, detail: string): string {
    const eta = done > 0 && done < this.total ? ` eta ${formatDuration(this.remaining(done, elapsed))}` : '';
    return `${done}/${this.total} ${formatDuration(elapsed)}${eta}${detail ? ` ${detail}` : ''}`;
  }
}

/** 42.0s, 3m05s, 2h14m */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** 1,225; powers of two past a million as 2^k (2^196 has no useful decimal). */
export function formatCount(n: number): string {
  const k = Math.log2(n);
  if (n >= 2 ** 20 && Number.isInteger(k)) return `2^${k}`;
  return n.toLocaleString('en-US');
}

/** 0.95 GFLOP, 12 GFLOP, 1.2 TFLOP: the work a plan announces. */
export function formatGflop(gflop: number): string {
  return gflop >= 1000 ? `${(gflop / 1000).toFixed(1)} TFLOP` : `${gflop.toFixed(gflop >= 10 ? 0 : 2)} GFLOP`;
}
