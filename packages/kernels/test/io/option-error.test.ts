import { describe, expect, it } from 'vitest';
import { InputError, OptionError } from '../../src/io/input-error.ts';
import { checkPixelGrid } from '../../src/models/pixel-rows.ts';
import { thrownBy } from '../../src/testing/thrown.ts';

describe('OptionError', () => {
  it('is an InputError whose subject is the option, in library terms', () => {
    const error = new OptionError('grid', '3x3 groups do not tile the 7x7 token grid (choose a divisor of 7 and 7)');
    expect(error).toBeInstanceOf(InputError);
    expect(error.name).toBe('OptionError');
    expect(error.option).toBe('grid');
    expect(error.subject).toBe('grid');
    expect(error.problem).toBe('3x3 groups do not tile the 7x7 token grid (choose a divisor of 7 and 7)');
    expect(error.message).toBe('grid: 3x3 groups do not tile the 7x7 token grid (choose a divisor of 7 and 7)');
  });
});

describe('checkPixelGrid', () => {
  it.each([
    [[5, 5], [64, 64], 'grid: 5x5 does not divide the 64x64 input into equal cells (choose a divisor of 64 and 64)'],
    [[0, 4], [64, 64], 'grid: 0x4 does not divide the 64x64 input into equal cells (choose a divisor of 64 and 64)'],
    [[4, 3], [48, 32], 'grid: 4x3 does not divide the 48x32 input into equal cells (choose a divisor of 48 and 32)'],
  ] as const)('refuses %j on %j with an OptionError naming the grid option', (grid, size, message) => {
    const caught = thrownBy(() => checkPixelGrid(grid, size), OptionError);
    expect(caught.option).toBe('grid');
    expect(caught.message).toBe(message);
    expect(caught.message).not.toContain('--');
  });

  it('accepts grids that divide the input', () => {
    expect(() => checkPixelGrid([4, 4], [64, 64])).not.toThrow();
    expect(() => checkPixelGrid([4, 2], [48, 32])).not.toThrow();
  });
});
