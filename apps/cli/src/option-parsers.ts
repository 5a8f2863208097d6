import { usageError } from './cli-error.ts';

/** "0,5,7" -> [0, 5, 7]; "" -> [] (keep no patch). Range checks happen against the model. */
export function parseIndexList(flag: string, value: string): number[] {
  const trimmed = value.trim();
  if (trimmed === '') return [];
  return trimmed.split(',').map((part) => {
    const s = part.trim();
    if (!/^\d+$/.test(s)) throw usageError(flag, `"${s}" is not a patch index (non-negative integers separated by commas, e.g. 0,5,7)`);
    return Number(s);
  });
}

export function parsePositiveIntList(flag: string, value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  return parts.map((s) => {
    if (!/^\d+$/.test(s) || Number(s) === 0) throw usageError(flag, `"${s}" is not a positive integer`);
    return Number(s);
  });
}

export function parseNonNegativeInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw usageError(flag, `"${value}" is not a non-negative integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw usageError(flag, `${value.trim()} is too large (at most ${Number.MAX_SAFE_INTEGER})`);
  return n;
}

export function parsePositiveInt(flag: string, value: string): number {
  const n = parseNonNegativeInt(flag, value);
  if (n === 0) throw usageError(flag, 'must be at least 1');
  return n;
}

export function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw usageError(flag, `"${value}" is not one of ${choices.join(', ')}`);
  }
  return value as T;
}
