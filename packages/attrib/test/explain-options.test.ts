import { describe, expect, it } from 'vitest';
import { OptionError } from '@moxi/kernels';
import { thrownBy } from '@moxi/kernels/testing';
import { METHODS } from '../src/attribution.ts';
import {
  checkMaskMode,
  EXPLAIN_OPTION_NAMES,
  EXPLAIN_OPTIONS,
  explainSpecFrom,
  optionDefault,
  readOptionValue,
  validateExplainSpec,
  type GivenOptions,
  type OptionModel,
} from '../src/explain-options.ts';
import { plannedEvaluations, runMethod } from '../src/methods/run-method.ts';
import { DEFAULT_MAX_EVALUATIONS } from '../src/methods/shapley.ts';
import { AnalyticGame } from './analytic-game.ts';

// The option table is the one place an explanation option's choices, default and rules are
// written; the CLI's flags and the page's form are built from it. These tests pin the table's
// rules and that the library runs with the table's defaults when an option is left out.

const vit: OptionModel = { family: 'vit', depth: 12, numClasses: 10, labels: ['airplane', 'automobile', 'bird'], declaredGrid: 2 };
const cnn: OptionModel = { family: 'resnet', numClasses: 10 };

const refusal = (fn: () => unknown) => {
  const error = thrownBy(fn, OptionError);
  return { option: error.option as string, message: error.message, flags: error.problemNaming((name) => `--${EXPLAIN_OPTIONS[name as keyof typeof EXPLAIN_OPTIONS].key}`) };
};

describe('the option table', () => {
  it('gives every option a distinct key, a default among its choices, and methods that take it', () => {
    const keys = EXPLAIN_OPTION_NAMES.map((n) => EXPLAIN_OPTIONS[n].key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const name of EXPLAIN_OPTION_NAMES) {
      const option = EXPLAIN_OPTIONS[name];
      for (const setting of ['explain', 'evaluation'] as const) {
        const value = optionDefault(name, setting);
        if (option.choices && value !== undefined) expect(option.choices, name).toContain(value);
      }
      // Each option has a default, or says in words what decides it.
      expect(option.default !== undefined || option.defaultText !== undefined, name).toBe(true);
      expect(METHODS.filter(option.appliesTo).length, name).toBeGreaterThan(0);
    }
    expect(METHODS.filter(EXPLAIN_OPTIONS.stop.appliesTo)).toEqual(['moxi-insertion', 'moxi-deletion']);
    expect(METHODS.filter(EXPLAIN_OPTIONS.reward.appliesTo)).not.toContain('gradcam');
    expect(METHODS.filter(EXPLAIN_OPTIONS.grid.appliesTo)).not.toContain('rollout');
    // The evaluation follows the paper's protocol: shared-size sampling, 16 samples.
    expect([optionDefault('sampler', 'evaluation'), optionDefault('samples', 'evaluation')]).toEqual(['shared-size', 16]);
    expect([optionDefault('sampler'), optionDefault('samples'), optionDefault('stop')]).toEqual(['permutation', 128, 'correct']);
  });

  it('is what the library runs when an option is left out', async () => {
    // stop correct: the analytic game predicts the target at once, so MoXI stops after step 1
    // (6 coalitions); with stop full it would rank all 6 players (21 coalitions).
    const game = new AnalyticGame(6, (s) => s.size);
    const moxi = await runMethod('moxi-insertion', game, [2, 3], {});
    expect([moxi.stopStep, moxi.order!.length, game.evaluations]).toEqual([1, 1, 6]);
    // permutation sampling with 128 samples: 128 (N - 1) + 2 coalitions.
    const sampling = new AnalyticGame(6, (s) => s.size);
    await runMethod('shapley-sampling', sampling, [2, 3], {});
    expect(sampling.evaluations).toBe(128 * 5 + 2);
    expect(plannedEvaluations('shapley-sampling', 6, {})).toBe(128 * 5 + 2);
    expect(DEFAULT_MAX_EVALUATIONS).toBe(optionDefault('maxEvaluations'));
  });
});

describe('readOptionValue', () => {
  it.each([
    ['reward', 'logprob', 'logprob'],
    ['samples', ' 12 ', 12],
    ['seed', '0', 0],
    ['discardRatio', '0.25', 0.25],
    ['target', '2', 2],
    ['target', 'bird', 2],
    ['contrast', true, true],
  ] as const)('%s %j', (name, text, value) => {
    expect(readOptionValue(name, text, vit)).toBe(value);
  });

  it.each([
    ['reward', 'odds', 'reward: "odds" is not one of logodds, logprob, logit'],
    ['samples', '0', 'samples: must be at least 1'],
    ['samples', '1.5', 'samples: "1.5" is not a positive integer'],
    ['seed', '-1', 'seed: "-1" is not a non-negative integer'],
    ['minConfidence', '2', 'minConfidence: "2" is not a number in [0, 1]'],
    ['target', '10', 'target: class 10 is out of range (the model has 10 classes: 0..9)'],
    ['target', 'Bird', 'target: "Bird" is neither a class index (0..9) nor one of the model\'s 3 label names ("airplane", "automobile", "bird"); did you mean "bird"?'],
  ] as const)('refuses %s %j', (name, text, message) => {
    const error = refusal(() => readOptionValue(name, text, vit));
    expect(error.option).toBe(name);
    expect(error.message).toBe(message);
  });
});

describe('explainSpecFrom and validateExplainSpec', () => {
  it('keeps only what was given, and the grid the model declares where the method takes one', () => {
    expect(explainSpecFrom({ method: 'moxi-deletion', stop: 'full' }, vit)).toEqual({ method: 'moxi-deletion', game: { grid: 2 }, options: { stop: 'full' }, modelOptions: {} });
    expect(explainSpecFrom({}, vit).method).toBe('moxi-insertion');
    expect(explainSpecFrom({ method: 'rollout', headFusion: 'max' }, vit)).toEqual({ method: 'rollout', game: {}, options: {}, modelOptions: { fusion: 'max' } });
    expect(explainSpecFrom({ method: 'shapley-self', grid: '4', maskMode: 'attention', fromLayer: '11', target: 'bird' }, vit).game).toEqual({ grid: 4, maskMode: 'attention', fromLayer: 11, target: 2 });
  });

  it.each<[string, GivenOptions, OptionModel, string, string]>([
    ['an option of another method', { method: 'moxi-insertion', samples: '8' }, vit, 'samples', '--samples applies to shapley-sampling, kernel-shap, lime, rise, rise-players, shapley-interaction, shapley-taylor and smoothgrad, not to --method moxi-insertion; leave it out'],
    ['a reward for gradcam', { method: 'gradcam', reward: 'logit' }, vit, 'reward', "--reward applies to the black-box methods but rise-players (it averages the target's probability; the methods that look inside the model use the target's logit or probability), not to --method gradcam; leave it out"],
    ['a grid for rollout', { method: 'rollout', grid: '2' }, vit, 'grid', '--grid applies to every method but rollout and chefer (they score the token grid), not to --method rollout; leave it out'],
    ['rollout of a CNN', { method: 'rollout' }, cnn, 'method', '--method attention rollout needs a ViT; a CNN has no attention to roll out'],
    ['contrast without a target', { contrast: true }, vit, 'contrast', '--contrast needs --target: the class to contrast with the prediction'],
    ['contrast on another reward', { contrast: true, target: '1', reward: 'logit' }, vit, 'contrast', '--contrast is defined on log-odds (App. F); leave --reward logit out'],
    ['a confidence with stop full', { stop: 'full', minConfidence: '0.5' }, vit, 'minConfidence', '--min-confidence is part of the --stop correct rule; it does nothing with --stop full'],
    ['a first block without attention masking', { fromLayer: '2' }, vit, 'fromLayer', '--mask-from-layer applies to --mask-mode attention only; leave it out'],
    ['a first block past the last', { maskMode: 'attention', fromLayer: '12' }, vit, 'fromLayer', '--mask-from-layer 12 is past the last block (the model has 12: 0..11)'],
    ['token masking of a CNN', { maskMode: 'token' }, cnn, 'maskMode', '--mask-mode token masking needs a ViT; a CNN takes pixel masking'],
  ])('refuses %s', (_name, given, model, option, line) => {
    const error = refusal(() => explainSpecFrom(given, model));
    expect(error.option).toBe(option);
    expect(`--${EXPLAIN_OPTIONS[option as keyof typeof EXPLAIN_OPTIONS].key} ${error.flags}`).toBe(line);
    // The library's own message names options as the API spells them, never a flag.
    expect(error.message).not.toContain('--');
  });

  it('checks a spec made by hand the same way', () => {
    expect(refusal(() => validateExplainSpec({ method: 'rollout', game: { grid: 2 } }, vit)).option).toBe('grid');
    expect(() => validateExplainSpec({ method: 'moxi-insertion', game: { maskMode: 'attention', fromLayer: 11 }, options: { stop: 'correct', minConfidence: 0.5 } }, vit)).not.toThrow();
    expect(() => checkMaskMode('pixel', undefined, cnn)).not.toThrow();
  });
});
