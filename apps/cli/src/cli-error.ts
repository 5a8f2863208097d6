import { GpuUnavailableError, InputError } from '@moxi/kernels';

/** Exit codes of the CLI contract (DESIGN.md). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

/** A bad flag value or combination, named like an input: "--batch: ...". */
export function usageError(flag: string, problem: string): InputError {
  return new InputError(flag, problem);
}

/**
 * Maps an error to the one line a user sees and the exit code. Bad input (files, flag
 * values) exits 2; everything else is a runtime failure (1). Stack traces only on --debug.
 */
export function reportError(error: unknown, debug: boolean): number {
  const err = error instanceof Error ? error : new Error(String(error));
  const badInput = err instanceof InputError;
  const line = err instanceof GpuUnavailableError ? err.message : err.message.split('\n')[0];
  process.stderr.write(`moxi: ${badInput ? '' : 'error: '}${line}\n`);
  if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
  return badInput ? EXIT_BAD_INPUT : EXIT_FAILURE;
}
