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

/** `{name}`: another option named in a problem. */
const MENTION = /\{(\w+)\}/g;

/**
 * A request option whose value does not fit the model or the other options, e.g.
 * "grid: 3x3 groups do not tile the 7x7 token grid (choose a divisor of 7 and 7)". The
 * problem is worded in the library's terms (option names, "pixel masking"), never a
 * front-end's flags, so that each front-end can name its own control for `option`.
 * A problem may mention other options as `{name}`: the message shows the plain name, and
 * `problemNaming` lets a front-end put its own control there ("--target", "Target class").
 */
export class OptionError<Option extends string = RequestOption> extends InputError {
  override readonly name: string = 'OptionError';
  constructor(
    readonly option: Option,
    private readonly template: string,
  ) {
    super(option, template.replace(MENTION, (_, name: string) => name));
  }

  /** The problem with each `{name}` it mentions written as `nameOf(name)`. */
  problemNaming(nameOf: (option: string) => string): string {
    return this.template.replace(MENTION, (_, name: string) => nameOf(name));
  }
}
