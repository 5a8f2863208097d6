import type { Command, Option } from 'commander';
import { usageError } from './cli-error.ts';

/** Options that take one value (not flags, not variadic lists): given twice, which one was meant? */
function takesOneValue(option: Option): boolean {
  return (option.required || option.optional) && !option.variadic;
}

/**
 * Refuses a single-value option given twice (`--input a.png --input b.png`), on `command`
 * and every subcommand: commander would silently keep the last. Registered once, after
 * every command has its options; options added later are not covered.
 */
export function refuseRepeatedOptions(command: Command): void {
  for (const option of command.options) {
    if (!takesOneValue(option)) continue;
    const name = option.attributeName();
    const parse = option.parseArg;
    option.argParser((value: string, previous: unknown) => {
      if (command.getOptionValueSource(name) === 'cli') {
        const flag = option.long ?? option.short ?? name;
        throw usageError(flag, `given twice (${JSON.stringify(String(previous))}, then ${JSON.stringify(value)}); give it once`);
      }
      return parse ? parse(value, previous) : value;
    });
  }
  for (const sub of command.commands) refuseRepeatedOptions(sub);
}
