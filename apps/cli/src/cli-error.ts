import { GpuUnavailableError, InputError, OptionError, type RequestOption } from '@moxi/kernels';

/** Exit codes of the CLI contract (DESIGN.md). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

/** The flag that sets each library request option. */
export const OPTION_FLAGS: Readonly<Record<RequestOption, string>> = {
  grid: '--grid',
  maskMode: '--mask-mode',
  fromLayer: '--mask-from-layer',
  method: '--method',
  maxEvaluations: '--max-evaluations',
  precision: '--precision',
};

/** A bad flag value or combination, named like an input: "--batch: ...". */
export function usageError(flag: string, problem: string): InputError {
  return new InputError(flag, problem);
}

/**
 * A library option refusal in the CLI's words: "--grid: 5x5 does not divide ...". The
 * problem may name other options in the library's camelCase ("raise maxEvaluations"); those
 * become their flags too. Plain words ("a coarser grid", "the method") stay as written.
 */
export function optionErrorLine(error: OptionError): string {
  const problem = error.problem.replace(/\b(maskMode|fromLayer|maxEvaluations)\b/g, (name) => OPTION_FLAGS[name as RequestOption]);
  return `${OPTION_FLAGS[error.option]}: ${problem}`;
}

/**
 * Maps an error to the one line a user sees and the exit code. Bad input (files, flag
 * values, library options named by their flags) exits 2; everything else is a runtime
 * failure (1). Stack traces only on --debug.
 */
export function reportError(error: unknown, debug: boolean): number {
  const err = error instanceof Error ? error : new Error(String(error));
  const badInput = err instanceof InputError;
  const message = err instanceof OptionError ? optionErrorLine(err) : err.message;
  const line = err instanceof GpuUnavailableError ? message : message.split('\n')[0];
  process.stderr.write(`moxi: ${badInput ? '' : 'error: '}${line}\n`);
  if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
  return badInput ? EXIT_BAD_INPUT : EXIT_FAILURE;
}
