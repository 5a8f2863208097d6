import { EXPLAIN_OPTION_NAMES, EXPLAIN_OPTIONS, type ExplainOptionName } from '@moxi/attrib';
import { GpuUnavailableError, InputError, OptionError } from '@moxi/kernels';
import { explainFlag } from './explain-flags.ts';

/** Exit codes of the CLI (the README's contract): 0 done, 1 a runtime failure, 2 bad input (one line naming it). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

/** The flag that sets a library request option: the option table's, or --precision. */
export function optionFlag(option: string): string {
  return option in EXPLAIN_OPTIONS ? explainFlag(option as ExplainOptionName) : `--${option}`;
}

/** A bad flag value or combination, named like an input: "--batch: ...". */
export function usageError(flag: string, problem: string): InputError {
  return new InputError(flag, problem);
}

/**
 * A library option refusal in the CLI's words: "--grid: 5x5 does not divide ...". Options
 * the problem mentions become their flags too, whether marked (`{target}`) or written in
 * the library's camelCase ("raise maxEvaluations"); plain words ("a coarser grid", "the
 * method") stay as written.
 */
export function optionErrorLine(error: OptionError<string>): string {
  const camelCase = EXPLAIN_OPTION_NAMES.filter((name) => /[A-Z]/.test(name));
  const problem = error.problemNaming(optionFlag).replace(new RegExp(`\\b(${camelCase.join('|')})\\b`, 'g'), (name) => optionFlag(name));
  return `${optionFlag(error.option)}: ${problem}`;
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
