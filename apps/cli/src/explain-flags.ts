import type { Command } from 'commander';
import { EXPLAIN_OPTIONS, optionDefault, readOptionValue, type ExplainOptionName, type ExplainOptionValue, type GivenOptions } from '@moxi/attrib';

/** Where a default comes from: `moxi explain`, or the evaluation commands (the paper's protocol). */
type Setting = 'explain' | 'evaluation';

/** The flag of an explanation option: `--` and its key in attrib's table. */
export function explainFlag(name: ExplainOptionName): string {
  return `--${EXPLAIN_OPTIONS[name].key}`;
}

/** The attribute commander stores a flag's value under: its key in camelCase. */
function attributeOf(name: ExplainOptionName): string {
  return EXPLAIN_OPTIONS[name].key.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

/**
 * The table's help line of an option: the methods it is for, what it does, its choices and
 * its default. Commander gets no default value, so a flag left out stays undefined and the
 * refusals can tell it from a value the user gave.
 */
function helpOf(name: ExplainOptionName, setting: Setting, withMethods: boolean): string {
  const option = EXPLAIN_OPTIONS[name];
  const fallback = optionDefault(name, setting);
  const methods = withMethods && option.methods !== 'every method' ? `${option.methods.replace(/ \(.*\)$/, '')}: ` : '';
  const choices = option.choices ? `: ${option.choices.join(' | ')}` : '';
  const shown = fallback ?? option.defaultText;
  const shownDefault = shown === undefined || option.kind === 'switch' ? '' : ` (default: ${shown})`;
  return `${methods}${option.help}${choices}${shownDefault}`;
}

/** Adds the flags of `names`, in that order, built from attrib's option table. */
export function addExplainFlags(command: Command, names: readonly ExplainOptionName[], setting: Setting = 'explain', withMethods = true): Command {
  for (const name of names) {
    const option = EXPLAIN_OPTIONS[name];
    command.option(`${explainFlag(name)}${option.valueName ? ` <${option.valueName}>` : ''}`, helpOf(name, setting, withMethods));
  }
  return command;
}

/** An option's value: the one given, else the table's default for `setting`, read the same way. */
export function explainOptionValue<T extends ExplainOptionValue>(given: GivenOptions, name: ExplainOptionName, setting: Setting = 'explain'): T {
  return readOptionValue(name, given[name] ?? String(optionDefault(name, setting))) as T;
}

/** The options of `names` the user gave, as the text commander read (switches as true). */
export function givenExplainOptions(parsed: object, names: readonly ExplainOptionName[]): GivenOptions {
  const given: GivenOptions = {};
  for (const name of names) {
    const value = (parsed as Record<string, unknown>)[attributeOf(name)];
    if (typeof value === 'string' || typeof value === 'boolean') given[name] = value;
  }
  return given;
}
