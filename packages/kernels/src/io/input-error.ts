/**
 * A problem with something the user handed us: a file, a folder, a flag value.
 * The message always starts with the thing at fault so a user can act on one line;
 * the CLI turns this into exit code 2 without a stack trace.
 */
export class InputError extends Error {
  override readonly name: string = 'InputError';
  constructor(
    readonly subject: string,
    readonly problem: string,
  ) {
    super(`${subject}: ${problem}`);
  }
}

/**
 * The options of a library request (ForwardRequest, ModelGameOptions, ExplainSpec) that a
 * caller can get wrong, by their names in the API; front-ends map them to their own
 * controls (the CLI to its flags).
 */
export type RequestOption = 'grid' | 'maskMode' | 'fromLayer' | 'method' | 'maxEvaluations' | 'precision';

/**
 * A request option whose value does not fit the model or the other options, e.g.
 * "grid: 3x3 groups do not tile the 7x7 token grid (choose a divisor of 7 and 7)". The
 * problem is worded in the library's terms (option names, "pixel masking"), never a
 * front-end's flags, so that each front-end can name its own control for `option`.
 */
export class OptionError extends InputError {
  override readonly name: string = 'OptionError';
  constructor(
    readonly option: RequestOption,
    problem: string,
  ) {
    super(option, problem);
  }
}
