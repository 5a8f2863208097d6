import { defaultMaskModeOf, OptionError, type MaskMode } from '@moxi/kernels';
import { attentionRefusal, isCoalitionMethod, METHODS, readsAttention, type MethodName } from './attribution.ts';
import type { ExplainSpec } from './explain.ts';

/**
 * Every option of an explanation, once: its name in the API (ExplainSpec), the flag and
 * page field it becomes (`key`), the methods it applies to, how its value is read, its
 * choices, its default and its help. The CLI builds its flags, the page its form, and both
 * their refusals from this table and `validateExplainSpec`; the library's own defaults
 * (`optionDefault`) come from here too, so a front-end never decides one.
 */

export const REWARD_KINDS = ['logodds', 'logprob', 'logit'] as const;
export const MASK_MODES = ['token', 'attention', 'pixel'] as const satisfies readonly MaskMode[];
export const STOP_RULES = ['correct', 'full'] as const;
export const SHAPLEY_SAMPLERS = ['permutation', 'shared-size'] as const;
export const HEAD_FUSIONS = ['mean', 'max', 'min'] as const;
/** Captum's n_steps rules of integrated gradients. */
export const INTEGRATION_RULES = ['gauss-legendre', 'riemann-left', 'riemann-right', 'riemann-middle', 'riemann-trapezoid'] as const;
export const IG_BASELINES = ['zero', 'blur'] as const;

export type StopRule = (typeof STOP_RULES)[number];

export type ExplainOptionName =
  | 'method'
  | 'target'
  | 'contrast'
  | 'reward'
  | 'maskMode'
  | 'fromLayer'
  | 'grid'
  | 'stop'
  | 'minConfidence'
  | 'samples'
  | 'sampler'
  | 'seed'
  | 'maxEvaluations'
  | 'order'
  | 'steps'
  | 'integration'
  | 'baseline'
  | 'blurSigma'
  | 'noiseLevel'
  | 'riseCells'
  | 'riseProbability'
  | 'augSmooth'
  | 'eigenSmooth'
  | 'headFusion'
  | 'discardRatio';

export type ExplainOptionValue = string | number | boolean;

export interface ExplainOption {
  /** The CLI flag without its dashes, and the page field's id. */
  key: string;
  /** The page's label. */
  label: string;
  /** What the CLI's help calls the value (`--grid <G>`); switches take none. */
  valueName?: string;
  /**
   * How a value is read: one of `choices`; a whole number from `min`; a fraction in [0, 1];
   * a switch (on or off); a class (an index, or one of the model's label names).
   */
  kind: 'choice' | 'integer' | 'fraction' | 'switch' | 'class';
  choices?: readonly string[];
  /** The page's words for each choice. */
  choiceLabels?: Readonly<Record<string, string>>;
  min?: number;
  /** The largest whole number accepted (integer options that have one). */
  max?: number;
  /** What applies when the option is left out; absent where the model decides (`defaultText`). */
  default?: ExplainOptionValue;
  /** The default in words, where the model or the image decides it. */
  defaultText?: string;
  /**
   * Where `moxi evaluate` (and the SET-SUM evaluation) differs, to follow the paper's
   * evaluation protocol: its Shapley sampling baseline is the shared-size sampler of the
   * official code with 16 samples per image.
   */
  evaluationDefault?: ExplainOptionValue;
  /** Methods the option means something for; given to another method it is refused. */
  appliesTo: (method: MethodName) => boolean;
  /** Those methods in words, for the refusal. */
  methods: string;
  /** One line of help, without the default (front-ends add it). */
  help: string;
}

const always = () => true;
const moxi = (m: MethodName) => m === 'moxi-insertion' || m === 'moxi-deletion';
const only = (method: MethodName) => (m: MethodName) => m === method;
const BLACK_BOX = 'the black-box methods';
/** The methods that draw samples: they take --samples and --seed. */
const sampledMethod = (m: MethodName) => m === 'shapley-sampling' || m === 'kernel-shap' || m === 'lime' || riseMethod(m) || groupMethod(m) || m === 'smoothgrad';
const SAMPLED_METHODS = 'shapley-sampling, kernel-shap, lime, rise, rise-players, shapley-interaction, shapley-taylor and smoothgrad';
/** The methods that score groups of players beyond pairs. */
const groupMethod = (m: MethodName) => m === 'shapley-interaction' || m === 'shapley-taylor';
const riseMethod = (m: MethodName) => m === 'rise' || m === 'rise-players';
const RISE_METHODS = 'rise and rise-players';
/** The black-box methods that read v(S), the reward (rise-players reads the target's probability instead). */
const rewardMethod = (m: MethodName) => isCoalitionMethod(m) && m !== 'rise-players';
const REWARD_METHODS = 'the black-box methods but rise-players';

export const EXPLAIN_OPTIONS: Readonly<Record<ExplainOptionName, ExplainOption>> = {
  method: { key: 'method', label: 'Method', valueName: 'name', kind: 'choice', choices: METHODS, default: 'moxi-insertion', appliesTo: always, methods: 'every method', help: 'what to compute' },
  target: {
    key: 'target',
    label: 'Target class', valueName: 'class',
    kind: 'class',
    appliesTo: always,
    methods: 'every method',
    defaultText: 'the predicted class',
    help: "class whose evidence to explain: an index, or one of the model's label names (id2label in config.json, e.g. cat); digits always mean an index",
  },
  contrast: {
    key: 'contrast',
    label: 'Contrast the target with the prediction (App. F)',
    kind: 'switch',
    default: false,
    appliesTo: rewardMethod,
    methods: REWARD_METHODS,
    help: "the paper's App. F: explain the target against the predicted class (reward: log-odds of the prediction minus log-odds of the target)",
  },
  reward: {
    key: 'reward',
    label: 'Reward', valueName: 'kind',
    kind: 'choice',
    choices: REWARD_KINDS,
    choiceLabels: { logodds: 'log-odds', logprob: 'log-probability', logit: 'logit' },
    default: 'logodds',
    appliesTo: rewardMethod,
    methods: `${REWARD_METHODS} (it averages the target's probability; the methods that look inside the model use the target's logit or probability)`,
    help: 'v(S) of a coalition: the target class\'s log-odds, log-probability or logit',
  },
  maskMode: {
    key: 'mask-mode',
    label: 'Hide patches by', valueName: 'mode',
    kind: 'choice',
    choices: MASK_MODES,
    choiceLabels: { token: 'token removal', attention: 'attention mask', pixel: 'pixel (cells set to 0)' },
    appliesTo: isCoalitionMethod,
    methods: BLACK_BOX,
    defaultText: 'token for ViTs, pixel for CNNs',
    help: 'how patches are hidden (token and attention: ViTs only)',
  },
  fromLayer: {
    key: 'mask-from-layer',
    label: 'from block', valueName: 'k',
    kind: 'integer',
    min: 0,
    default: 0,
    appliesTo: isCoalitionMethod,
    methods: BLACK_BOX,
    help: 'attention masking: first block whose attention is masked',
  },
  grid: {
    key: 'grid',
    label: 'Players per side (G x G)', valueName: 'G',
    kind: 'integer',
    min: 1,
    appliesTo: (m) => !readsAttention(m),
    methods: 'every method but rollout and chefer (they score the token grid)',
    defaultText: 'what the model folder declares, else every token of a ViT, 14 cells of a CNN',
    help: 'G x G players: groups of tokens (ViT) or pixel cells',
  },
  stop: {
    key: 'stop',
    label: 'Stop', valueName: 'rule',
    kind: 'choice',
    choices: STOP_RULES,
    choiceLabels: { correct: 'once the target is predicted', full: 'rank every patch' },
    default: 'correct',
    appliesTo: moxi,
    methods: 'moxi-insertion and moxi-deletion',
    help: "correct stops once the prediction is the target (the paper's runtime setting), full ranks every patch",
  },
  minConfidence: {
    key: 'min-confidence',
    label: 'Minimum confidence', valueName: 'p',
    kind: 'fraction',
    default: 0,
    appliesTo: only('moxi-insertion'),
    methods: 'moxi-insertion',
    help: 'with stop correct: also require p(target) >= this',
  },
  samples: {
    key: 'samples',
    label: 'Samples', valueName: 'n',
    kind: 'integer',
    min: 1,
    default: 128,
    evaluationDefault: 16,
    appliesTo: sampledMethod,
    methods: SAMPLED_METHODS,
    help: 'shapley-sampling: permutations (or iterations of the shared-size sampler); kernel-shap: coalitions fitted besides the empty and full one (default for kernel-shap: all 2^N - 2); lime: coalitions fitted (default for lime: 1000); rise, rise-players: random masks (default for both: 4000); shapley-interaction, shapley-taylor over more than 12 players: draws per group; smoothgrad: noisy copies (default for smoothgrad: 50)',
  },
  sampler: {
    key: 'sampler',
    label: 'Sampler', valueName: 'kind',
    kind: 'choice',
    choices: SHAPLEY_SAMPLERS,
    choiceLabels: { permutation: 'permutations (antithetic)', 'shared-size': 'shared size (official code)' },
    default: 'permutation',
    evaluationDefault: 'shared-size',
    appliesTo: only('shapley-sampling'),
    methods: 'shapley-sampling',
    help: 'antithetic permutations, or the shared-size sampler of the official MoXI code',
  },
  seed: { key: 'seed', label: 'Seed', valueName: 's', kind: 'integer', min: 0, default: 0, appliesTo: sampledMethod, methods: SAMPLED_METHODS, help: 'random seed' },
  maxEvaluations: {
    key: 'max-evaluations',
    label: 'Maximum coalitions', valueName: 'n',
    kind: 'integer',
    min: 1,
    default: 2 ** 20,
    appliesTo: isCoalitionMethod,
    methods: BLACK_BOX,
    help: 'refuse up front a plan of more coalitions than this',
  },
  order: {
    key: 'order',
    label: 'Largest group (order k)', valueName: 'k',
    kind: 'integer',
    min: 2,
    // 2^k coalitions per sampled group, and C(N, k) groups.
    max: 4,
    default: 3,
    appliesTo: groupMethod,
    methods: 'shapley-interaction and shapley-taylor',
    help: 'groups of 2..k players are scored (at most 4); shapley-taylor: the order of the index',
  },
  steps: {
    // Not `steps`: the page's MoXI step-through panel has that id.
    key: 'integration-steps',
    label: 'Integration steps', valueName: 'n',
    kind: 'integer',
    min: 1,
    default: 50,
    appliesTo: only('integrated-gradients'),
    methods: 'integrated-gradients',
    help: "points of the path integral from the baseline to the image (Captum's n_steps)",
  },
  integration: {
    key: 'integration',
    label: 'Integration rule', valueName: 'rule',
    kind: 'choice',
    choices: INTEGRATION_RULES,
    default: 'gauss-legendre',
    appliesTo: only('integrated-gradients'),
    methods: 'integrated-gradients',
    help: "Captum's rules: Gauss-Legendre nodes, or left, right, middle or trapezoid Riemann sums",
  },
  baseline: {
    key: 'baseline',
    label: 'Baseline', valueName: 'kind',
    kind: 'choice',
    choices: IG_BASELINES,
    choiceLabels: { zero: 'zero (the mean colour)', blur: 'the image blurred' },
    default: 'zero',
    appliesTo: only('integrated-gradients'),
    methods: 'integrated-gradients',
    help: 'where the path starts: zeros of the normalised input, or the image under a Gaussian blur',
  },
  blurSigma: {
    key: 'blur-sigma',
    label: 'Blur sigma (px)', valueName: 'px',
    kind: 'integer',
    min: 1,
    default: 10,
    appliesTo: only('integrated-gradients'),
    methods: 'integrated-gradients',
    help: "the blurred baseline's Gaussian standard deviation in pixels (with the blurred baseline)",
  },
  noiseLevel: {
    key: 'noise-level',
    label: 'Noise level', valueName: 'f',
    kind: 'fraction',
    default: 0.15,
    appliesTo: only('smoothgrad'),
    methods: 'smoothgrad',
    help: "the noise's standard deviation as a share of the image's value range (SmoothGrad's 15%)",
  },
  riseCells: {
    key: 'rise-cells',
    label: 'RISE grid cells per side', valueName: 's',
    kind: 'integer',
    min: 1,
    default: 7,
    appliesTo: riseMethod,
    methods: RISE_METHODS,
    help: 'each random mask is an s x s grid of kept or hidden cells, stretched over the image (rise) or the players (rise-players) with a random shift',
  },
  riseProbability: {
    key: 'rise-probability',
    label: 'RISE keep probability', valueName: 'p',
    kind: 'fraction',
    default: 0.5,
    appliesTo: riseMethod,
    methods: RISE_METHODS,
    help: 'probability that a cell of a mask is kept (above 0)',
  },
  augSmooth: { key: 'aug-smooth', label: 'Augmentation smoothing', kind: 'switch', default: false, appliesTo: only('gradcam'), methods: 'gradcam', help: 'average over horizontal flips and input scales 0.9, 1, 1.1' },
  eigenSmooth: { key: 'eigen-smooth', label: 'Eigen smoothing', kind: 'switch', default: false, appliesTo: only('gradcam'), methods: 'gradcam', help: 'first principal component of the weighted activations' },
  headFusion: { key: 'head-fusion', label: 'Head fusion', valueName: 'f', kind: 'choice', choices: HEAD_FUSIONS, default: 'mean', appliesTo: only('rollout'), methods: 'rollout', help: 'how heads combine' },
  discardRatio: {
    key: 'discard-ratio',
    label: 'Discard ratio', valueName: 'r',
    kind: 'fraction',
    default: 0,
    appliesTo: only('rollout'),
    methods: 'rollout',
    help: "share of each row's lowest attention dropped, CLS column kept",
  },
};

export const EXPLAIN_OPTION_NAMES = Object.keys(EXPLAIN_OPTIONS) as ExplainOptionName[];

/** What the model says about itself that the options are checked against. */
export interface OptionModel {
  family: 'vit' | 'resnet';
  /** Transformer blocks (ViTs). */
  depth?: number;
  numClasses: number;
  labels?: readonly string[] | undefined;
  /** G x G players the model's folder declares: the grid when none is given. */
  declaredGrid?: number | undefined;
}

type Setting = 'explain' | 'evaluation';

/** The value that applies when `name` is left out (undefined where the model decides). */
export function optionDefault(name: ExplainOptionName, setting: Setting = 'explain'): ExplainOptionValue | undefined {
  const option = EXPLAIN_OPTIONS[name];
  return setting === 'evaluation' && option.evaluationDefault !== undefined ? option.evaluationDefault : option.default;
}

/** A number default, typed (the table holds numbers for every integer and fraction option). */
export function numberDefault(name: ExplainOptionName, setting: Setting = 'explain'): number {
  return optionDefault(name, setting) as number;
}

/**
 * Reads one option's text (a flag's value, a form field) as its kind says; a switch takes a
 * boolean. Refusals are OptionErrors naming the option.
 */
export function readOptionValue(name: ExplainOptionName, value: string | boolean, model?: OptionModel): ExplainOptionValue {
  const option = EXPLAIN_OPTIONS[name];
  const refuse = (problem: string) => new OptionError<ExplainOptionName>(name, problem);
  if (option.kind === 'switch') {
    if (typeof value !== 'boolean') throw refuse(`takes no value ("${value}")`);
    return value;
  }
  const text = String(value).trim();
  switch (option.kind) {
    case 'choice':
      if (!option.choices!.includes(text)) throw refuse(`"${value}" is not one of ${option.choices!.join(', ')}`);
      return text;
    case 'integer': {
      if (!/^\d+$/.test(text)) throw refuse(`"${value}" is not a ${option.min === 1 ? 'positive' : 'non-negative'} integer`);
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw refuse(`${text} is too large (at most ${Number.MAX_SAFE_INTEGER})`);
      if (n < (option.min ?? 0)) throw refuse(`must be at least ${option.min}`);
      if (option.max !== undefined && n > option.max) throw refuse(`must be at most ${option.max}`);
      return n;
    }
    case 'fraction': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n) || n < 0 || n > 1) throw refuse(`"${value}" is not a number in [0, 1]`);
      return n;
    }
    case 'class':
      return readClass(name, text, model);
  }
}

/**
 * A class given as an index or as one of the model's label names (config id2label): digits
 * are always an index, anything else must be a label name, matched exactly.
 */
function readClass(name: ExplainOptionName, text: string, model: OptionModel | undefined): number {
  const refuse = (problem: string) => new OptionError<ExplainOptionName>(name, problem);
  const numClasses = model?.numClasses ?? Infinity;
  const labels = model?.labels;
  if (/^\d+$/.test(text)) {
    const index = Number(text);
    if (!Number.isSafeInteger(index)) throw refuse(`${text} is too large (at most ${Number.MAX_SAFE_INTEGER})`);
    if (index >= numClasses) throw refuse(`class ${index} is out of range (the model has ${numClasses} classes: 0..${numClasses - 1})`);
    return index;
  }
  const index = labels?.indexOf(text) ?? -1;
  if (index >= 0 && index < numClasses) return index;
  if (!labels || labels.length === 0) throw refuse(`"${text}" is not a class index (0..${numClasses - 1}), and the model names no labels`);
  const folded = text.toLowerCase();
  const close = labels.filter((l) => l.toLowerCase() === folded || l.toLowerCase().split(/,\s*/).includes(folded));
  const hint = close.length > 0 ? `; did you mean ${close.slice(0, 3).map((l) => `"${l}"`).join(' or ')}?` : '';
  const shown = labels.slice(0, 5).map((l) => `"${l}"`).join(', ');
  throw refuse(`"${text}" is neither a class index (0..${numClasses - 1}) nor one of the model's ${labels.length} label names (${shown}${labels.length > 5 ? ', ...' : ''})${hint}`);
}

/** Options a user gave, by name, as text (switches as booleans); what is absent takes its default. */
export type GivenOptions = Partial<Record<ExplainOptionName, string | boolean>>;

/**
 * The request a front-end's options make, checked: each value read as its kind says, then
 * `validateExplainSpec`. Only given options are in the spec; the library fills in the
 * table's defaults where it runs.
 */
export function explainSpecFrom(given: GivenOptions, model: OptionModel): ExplainSpec {
  const value = <T extends ExplainOptionValue>(name: ExplainOptionName): T | undefined => {
    const text = given[name];
    return text === undefined ? undefined : (readOptionValue(name, text, model) as T);
  };
  const method = (value<string>('method') ?? optionDefault('method')) as MethodName;
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const spec: ExplainSpec = {
    method,
    game: defined({
      target: value<number>('target'),
      contrast: value<boolean>('contrast'),
      reward: value('reward'),
      maskMode: value('maskMode'),
      fromLayer: value<number>('fromLayer'),
      grid: value<number>('grid'),
    }),
    options: defined({
      stop: value('stop'),
      minConfidence: value<number>('minConfidence'),
      samples: value<number>('samples'),
      sampler: value('sampler'),
      seed: value<number>('seed'),
      maxEvaluations: value<number>('maxEvaluations'),
      order: value<number>('order'),
      steps: value<number>('steps'),
      integration: value('integration'),
      baseline: value('baseline'),
      blurSigma: value<number>('blurSigma'),
      noiseLevel: value<number>('noiseLevel'),
      riseCells: value<number>('riseCells'),
      riseProbability: value<number>('riseProbability'),
    }),
    modelOptions: defined({
      augSmooth: value<boolean>('augSmooth'),
      eigenSmooth: value<boolean>('eigenSmooth'),
      fusion: value('headFusion'),
      discardRatio: value<number>('discardRatio'),
    }),
  } as ExplainSpec;
  validateExplainSpec(spec, model);
  if (spec.game.grid === undefined && model.declaredGrid !== undefined && EXPLAIN_OPTIONS.grid.appliesTo(method)) spec.game.grid = model.declaredGrid;
  return spec;
}

/** Each option's value in a spec, by its name in the table (undefined when not given). */
function specValues(spec: ExplainSpec): Record<ExplainOptionName, unknown> {
  const { game, options = {}, modelOptions = {} } = spec;
  return {
    method: spec.method,
    target: game.target,
    contrast: game.contrast,
    reward: game.reward,
    maskMode: game.maskMode,
    fromLayer: game.fromLayer,
    grid: game.grid,
    stop: options.stop,
    minConfidence: options.minConfidence,
    samples: options.samples,
    sampler: options.sampler,
    seed: options.seed,
    maxEvaluations: options.maxEvaluations,
    order: options.order,
    steps: options.steps,
    integration: options.integration,
    baseline: options.baseline,
    blurSigma: options.blurSigma,
    noiseLevel: options.noiseLevel,
    riseCells: options.riseCells,
    riseProbability: options.riseProbability,
    augSmooth: modelOptions.augSmooth,
    eigenSmooth: modelOptions.eigenSmooth,
    headFusion: modelOptions.fusion,
    discardRatio: modelOptions.discardRatio,
  };
}

/**
 * Every rule between an explanation's options and the model, in one place: an option given
 * to a method it does not apply to is refused rather than ignored (it would look as if it
 * had changed something), and so are combinations that mean nothing. Throws an OptionError
 * naming the option at fault; other options are mentioned as `{name}`.
 */
export function validateExplainSpec(spec: ExplainSpec, model: OptionModel): void {
  const values = specValues(spec);
  const given = (name: ExplainOptionName) => values[name] !== undefined && values[name] !== false;
  const refuse = (name: ExplainOptionName, problem: string) => new OptionError<ExplainOptionName>(name, problem);
  const { method } = spec;
  if (!METHODS.includes(method)) throw refuse('method', `"${method}" is not one of ${METHODS.join(', ')}`);
  if (readsAttention(method) && model.family !== 'vit') throw refuse('method', attentionRefusal(method));
  for (const name of EXPLAIN_OPTION_NAMES) {
    const option = EXPLAIN_OPTIONS[name];
    if (given(name) && !option.appliesTo(method)) throw refuse(name, `applies to ${option.methods}, not to {method} ${method}; leave it out`);
  }
  if (given('contrast') && values.target === undefined) throw refuse('contrast', 'needs {target}: the class to contrast with the prediction');
  if (given('contrast') && given('reward') && values.reward !== 'logodds') throw refuse('contrast', `is defined on log-odds (App. F); leave {reward} ${String(values.reward)} out`);
  if (given('blurSigma') && values.baseline !== 'blur') throw refuse('blurSigma', 'is the blurred baseline\'s; give {baseline} blur with it');
  if (values.riseProbability === 0) throw refuse('riseProbability', 'must be above 0: RISE divides by it');
  if (given('minConfidence') && values.stop === 'full') throw refuse('minConfidence', 'is part of the {stop} correct rule; it does nothing with {stop} full');
  checkMaskMode(values.maskMode as MaskMode | undefined, values.fromLayer as number | undefined, model);
}

/**
 * The masking rules every command that hides patches shares (explain, evaluate, predict):
 * token and attention masking need a ViT, and a first masked block needs attention masking
 * and must be one of the model's blocks.
 */
export function checkMaskMode(maskMode: MaskMode | undefined, fromLayer: number | undefined, model: Pick<OptionModel, 'family' | 'depth'>): void {
  const mode = maskMode ?? defaultMaskModeOf(model.family);
  if (mode !== 'pixel' && model.family !== 'vit') throw new OptionError<ExplainOptionName>('maskMode', `${mode} masking needs a ViT; a CNN takes pixel masking`);
  if (fromLayer === undefined) return;
  if (mode !== 'attention') throw new OptionError<ExplainOptionName>('fromLayer', 'applies to {maskMode} attention only; leave it out');
  const depth = model.depth ?? 0;
  if (fromLayer >= depth) throw new OptionError<ExplainOptionName>('fromLayer', `${fromLayer} is past the last block (the model has ${depth}: 0..${depth - 1})`);
}

/**
 * The masking a front-end's given options ask for, read and checked as one: the mask mode
 * (the model family's default when none is given) and the first masked block (undefined
 * when none is given). What predict, evaluate and the page's patch view share.
 */
export function readMasking(given: GivenOptions, model: Pick<OptionModel, 'family' | 'depth'>): { maskMode: MaskMode; fromLayer: number | undefined } {
  const maskMode = given.maskMode === undefined ? defaultMaskModeOf(model.family) : (readOptionValue('maskMode', given.maskMode) as MaskMode);
  const fromLayer = given.fromLayer === undefined ? undefined : (readOptionValue('fromLayer', given.fromLayer) as number);
  checkMaskMode(maskMode, fromLayer, model);
  return { maskMode, fromLayer };
}
