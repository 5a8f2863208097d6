import { InputError } from '../../src/io/input-error.ts';
import { thrownBy } from '../../src/testing/thrown.ts';

/** The InputError `fn` throws; fails the test if it throws nothing or something else. */
export function inputErrorOf(fn: () => unknown): InputError {
  return thrownBy(fn, InputError);
}
