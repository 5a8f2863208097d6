/**
 * A problem with something the user handed us: a file, a folder, a flag value.
 * The message always starts with the thing at fault so a user can act on one line;
 * the CLI turns this into exit code 2 without a stack trace.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly subject: string,
    readonly problem: string,
  ) {
    super(`${subject}: ${problem}`);
  }
}
