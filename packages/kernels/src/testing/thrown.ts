/**
 * The error of class `type` that `fn` throws; anything else thrown is rethrown, and
 * throwing nothing fails. For tests that go on to check the error's fields.
 */
export function thrownBy<E extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => E): E {
  try {
    fn();
  } catch (error) {
    if (error instanceof type) return error;
    throw error;
  }
  throw new Error(`expected a ${type.name}`);
}
