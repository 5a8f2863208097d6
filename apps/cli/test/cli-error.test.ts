import { describe, expect, it, vi } from 'vitest';
import { InputError, OptionError } from '@moxi/kernels';
import { EXPLAIN_OPTION_NAMES } from '@moxi/attrib';
import { EXIT_BAD_INPUT, optionErrorLine, optionFlag, reportError } from '../src/cli-error.ts';

describe('library option errors become the flags they concern', () => {
  it.each([
    [new OptionError('grid', '5x5 does not divide the 64x64 input into equal cells (choose a divisor of 64 and 64)'), '--grid: 5x5 does not divide the 64x64 input into equal cells (choose a divisor of 64 and 64)'],
    [new OptionError('maskMode', 'token masking needs a ViT; a CNN takes pixel masking'), '--mask-mode: token masking needs a ViT; a CNN takes pixel masking'],
    [new OptionError('method', 'attention rollout needs a ViT; a CNN has no attention to roll out'), '--method: attention rollout needs a ViT; a CNN has no attention to roll out'],
    [
      new OptionError('maxEvaluations', 'shapley-exact on 21 players needs 2^21 = 2,097,152 evaluations, over maxEvaluations 1,048,576; use a coarser grid, raise maxEvaluations, or use shapley-sampling'),
      '--max-evaluations: shapley-exact on 21 players needs 2^21 = 2,097,152 evaluations, over --max-evaluations 1,048,576; use a coarser grid, raise --max-evaluations, or use shapley-sampling',
    ],
    [new OptionError('fromLayer', '12 is past the last block'), '--mask-from-layer: 12 is past the last block'],
    // Options the problem mentions as {name} become flags; the library's own message shows the name.
    [new OptionError<string>('contrast', 'needs {target}: the class to contrast with the prediction'), '--contrast: needs --target: the class to contrast with the prediction'],
    [new OptionError<string>('minConfidence', 'is part of the {stop} correct rule'), '--min-confidence: is part of the --stop correct rule'],
  ])('%s', (error, line) => {
    expect(optionErrorLine(error)).toBe(line);
  });

  it('has a distinct flag for every option of the table, and --precision', () => {
    const flags = [...EXPLAIN_OPTION_NAMES, 'precision'].map(optionFlag);
    expect(flags.every((flag) => /^--[a-z][a-z-]+$/.test(flag))).toBe(true);
    expect(new Set(flags).size).toBe(flags.length);
    expect(optionFlag('fromLayer')).toBe('--mask-from-layer');
    expect(new OptionError<string>('contrast', 'needs {target}').message).toBe('contrast: needs target');
  });

  it('reports "moxi: <flag>: <problem>" with exit 2, and other input errors as before', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(reportError(new OptionError('grid', '3x3 groups do not tile the 7x7 token grid (choose a divisor of 7 and 7)'), false)).toBe(EXIT_BAD_INPUT);
      expect(reportError(new InputError('a.npy', 'is not a file'), false)).toBe(EXIT_BAD_INPUT);
      expect(write.mock.calls.map((c) => c[0])).toEqual(['moxi: --grid: 3x3 groups do not tile the 7x7 token grid (choose a divisor of 7 and 7)\n', 'moxi: a.npy: is not a file\n']);
    } finally {
      write.mockRestore();
    }
  });
});
