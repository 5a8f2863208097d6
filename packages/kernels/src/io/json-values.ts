/**
 * Typed reads of values from parsed JSON (config files, safetensors headers). Each
 * throws an InputError that names the file and the key, so a hand-edited file fails with
 * a one-line fix instead of a TypeError deep inside loading or preprocessing.
 */
import { InputError } from './input-error.ts';

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

export function readPositiveInteger(value: unknown, key: string, fileName: string): number {
  if (!isPositiveInteger(value)) {
    throw new InputError(fileName, `${key} must be a positive integer, got ${describeJson(value)}`);
  }
  return value;
}

export function readBoolean(value: unknown, key: string, fileName: string): boolean {
  if (typeof value !== 'boolean') throw new InputError(fileName, `${key} must be true or false, got ${describeJson(value)}`);
  return value;
}

export function readPositiveNumber(value: unknown, key: string, fileName: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InputError(fileName, `${key} must be a positive number, got ${describeJson(value)}`);
  }
  return value;
}

/**
 * Per-channel mean or std for RGB: three numbers, or one number for all channels (as HF
 * allows). A zero std would divide by zero, so `nonZero` rejects it.
 */
export function readChannelTriple(
  value: unknown,
  key: string,
  fileName: string,
  nonZero: boolean,
): [number, number, number] {
  const triple = typeof value === 'number' ? [value, value, value] : value;
  if (
    !Array.isArray(triple) ||
    triple.length !== 3 ||
    !triple.every((v) => typeof v === 'number' && Number.isFinite(v) && (!nonZero || v !== 0))
  ) {
    const what = nonZero ? 'non-zero numbers' : 'numbers';
    throw new InputError(fileName, `${key} must be 3 ${what} (one per RGB channel), got ${describeJson(value)}`);
  }
  return triple as [number, number, number];
}
