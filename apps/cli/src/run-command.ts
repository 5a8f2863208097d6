import { reportError } from './cli-error.ts';

export type CommandRunner = <T>(action: (options: T) => Promise<void>) => (options: T) => Promise<void>;

/**
 * Wraps a command action: errors become one line on stderr and an exit code (2 for bad
 * input, 1 otherwise); the process then exits explicitly, because an open Dawn instance
 * would otherwise keep Node alive.
 */
export function commandRunner(debug: () => boolean): CommandRunner {
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
