import { reportError } from './cli-error.ts';

export type CommandRunner = <T>(action: (options: T) => Promise<void>) => (options: T) => Promise<void>;

/**
 * Wraps a command action: errors become one line on stderr and an exit code (2 for bad
 * input, 1 otherwise); the process then exits explicitly, because an open Dawn instance
 * would otherwise keep Node alive.
 */
/** Ctrl-C and `kill`: one line, then the usual exit (128 + signal), so exit handlers (locks) run. */
const STOP_SIGNALS: Array<[NodeJS.Signals, number]> = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
];

export function commandRunner(debug: () => boolean): CommandRunner {
  for (const [signal, code] of STOP_SIGNALS) {
    process.once(signal, () => {
      // Every file moxi writes is written whole (atomic renames, fsynced record lines), so
      // stopping between two tasks leaves nothing half-written.
      process.stderr.write(`\nmoxi: stopped by ${signal}\n`);
      process.exit(code);
    });
  }
  return (action) => async (options) => {
    let code = 0;
    try {
      await action(options);
    } catch (error) {
      code = reportError(error, debug());
    }
    process.exitCode = code;
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    process.exit(code);
  };
}
