import { DEFAULT_MAX_EVALUATIONS, DEFAULT_SAMPLES, isCoalitionMethod, METHOD_OPTIONS, METHODS, type ExplainSpec, type HeadFusion, type MethodName, type MethodOptionName, type ModelGameOptions, type RewardKind } from '@moxi/attrib';
import type { MaskMode, ModelInfo } from '@moxi/kernels';
import { element, make } from './elements.ts';
import type { Masking } from './worker/protocol.ts';

/** A setting the page refuses before any work, named by its field. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The field of each library option the worker may name in a refusal. */
export const OPTION_FIELDS: Record<string, string> = { grid: 'grid', maskMode: 'mask-mode', fromLayer: 'from-layer', maxEvaluations: 'max-evaluations', method: 'method' };

const METHOD_HELP: Record<MethodName, string> = {
  'moxi-insertion': 'MoXI insertion: adds the patch that raises the class most, step by step, from a blank image',
  'moxi-deletion': 'MoXI deletion: removes the patch that lowers the class most, step by step, from the full image',
  'shapley-self': 'Shapley values from each patch alone (one coalition per patch)',
  'shapley-full': 'Shapley values from removing each patch from the full image',
  'shapley-exact': 'exact Shapley values over every coalition (2^N evaluations)',
  'shapley-sampling': 'Shapley values estimated from sampled permutations',
  'interaction-self': 'each patch\'s summed pairwise interactions, measured on pairs alone',
  'interaction-full': 'each patch\'s summed pairwise interactions, measured by removing pairs',
  gradcam: 'Grad-CAM: gradient-weighted activations of the last block',
  rollout: 'attention rollout: attention propagated through the blocks (ViTs)',
};

function numberField(id: string, label: string, { integer = false, min = 0, max = Infinity } = {}): number {
  const input = element<HTMLInputElement>(id);
  const text = input.value.trim();
  const value = Number(text);
  if (text === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    const range = max === Infinity ? `at least ${min}` : `between ${min} and ${max}`;
    throw new FieldError(id, `${label} must be ${integer ? 'a whole number' : 'a number'} ${range}, not "${input.value}"`);
  }
  return value;
}

/**
 * The explanation settings: the method, then only the options it takes (attrib's
 * METHOD_OPTIONS), with the CLI's defaults; the masking fieldset supplies players and masking.
 */
export class ExplainForm {
  private readonly method = element<HTMLSelectElement>('method');
  private info: ModelInfo | undefined;

  constructor() {
    this.method.replaceChildren(...METHODS.map((m) => make('option', { value: m, textContent: m })));
    element<HTMLInputElement>('samples').value = String(DEFAULT_SAMPLES);
    element<HTMLInputElement>('max-evaluations').value = String(DEFAULT_MAX_EVALUATIONS);
    this.method.addEventListener('change', () => this.showOptions());
    this.showOptions();
  }

  get methodName(): MethodName {
    return this.method.value as MethodName;
  }

  set methodName(m: MethodName) {
    this.method.value = m;
    this.showOptions();
  }

  /** Adapts the masking choices and defaults to a newly opened model. */
  setModel(info: ModelInfo, depth: number): void {
    this.info = info;
    const vit = info.family === 'vit';
    const modes: MaskMode[] = vit ? ['token', 'attention'] : ['pixel'];
    const names: Record<MaskMode, string> = { token: 'token removal', attention: 'attention mask', pixel: 'pixel (cells set to 0)' };
    element<HTMLSelectElement>('mask-mode').replaceChildren(...modes.map((m) => make('option', { value: m, textContent: names[m] })));
    const fromLayer = element<HTMLInputElement>('from-layer');
    fromLayer.max = String(Math.max(0, depth - 1));
    fromLayer.value = '0';
    element<HTMLInputElement>('grid').value = String(info.declaredGrid ?? '');
    element<HTMLInputElement>('grid').placeholder = `${info.grid.join('x')} (${vit ? 'tokens' : 'cells'})`;
    element<HTMLInputElement>('target').max = String(info.numClasses - 1);
    for (const option of this.method.options) option.disabled = option.value === 'rollout' && !vit;
    if (!vit && this.methodName === 'rollout') this.methodName = 'moxi-insertion';
    this.showOptions();
  }

  /** Players and masking for patch toggling and for the black-box methods. */
  masking(): Masking {
    const maskMode = element<HTMLSelectElement>('mask-mode').value as MaskMode;
    const depth = Number(element<HTMLInputElement>('from-layer').max) + 1;
    const fromLayer = maskMode === 'attention' ? numberField('from-layer', 'From layer', { integer: true, min: 0, max: depth - 1 }) : 0;
    const gridText = element<HTMLInputElement>('grid').value.trim();
    const grid = gridText === '' ? undefined : numberField('grid', 'Players per side', { integer: true, min: 1, max: 64 });
    return { maskMode, fromLayer, ...(grid !== undefined ? { grid } : {}) };
  }

  spec(method: MethodName = this.methodName): ExplainSpec {
    const masking = this.masking();
    const game: ModelGameOptions = {};
    const targetText = element<HTMLInputElement>('target').value.trim();
    if (targetText !== '') game.target = numberField('target', 'Target class', { integer: true, min: 0, max: (this.info?.numClasses ?? 1) - 1 });
    const contrast = element<HTMLInputElement>('contrast').checked;
    if (isCoalitionMethod(method)) {
      if (contrast && game.target === undefined) throw new FieldError('target', 'Contrast needs a target class to contrast with the prediction');
      game.reward = contrast ? 'logodds' : (element<HTMLSelectElement>('reward').value as RewardKind);
      game.maskMode = masking.maskMode;
      game.fromLayer = masking.fromLayer;
      if (contrast) game.contrast = true;
    }
    if (masking.grid !== undefined && method !== 'rollout') game.grid = masking.grid;
    return {
      method,
      game,
      options: {
        stop: element<HTMLSelectElement>('stop').value as 'full' | 'correct',
        minConfidence: numberField('min-confidence', 'Minimum confidence', { max: 1 }),
        samples: numberField('samples', 'Samples', { integer: true, min: 1 }),
        sampler: element<HTMLSelectElement>('sampler').value as 'permutation' | 'shared-size',
        seed: numberField('seed', 'Seed', { integer: true }),
        maxEvaluations: numberField('max-evaluations', 'Maximum coalitions', { integer: true, min: 1 }),
      },
      modelOptions: {
        augSmooth: element<HTMLInputElement>('aug-smooth').checked,
        eigenSmooth: element<HTMLInputElement>('eigen-smooth').checked,
        fusion: element<HTMLSelectElement>('head-fusion').value as HeadFusion,
        discardRatio: numberField('discard-ratio', 'Discard ratio', { max: 1 }),
      },
    };
  }

  /** The reward named on the legend and in the summary. */
  get reward(): string {
    return element<HTMLInputElement>('contrast').checked ? 'contrast log-odds' : element<HTMLSelectElement>('reward').value;
  }

  setEnabled(enabled: boolean): void {
    for (const control of element('explain-form').querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>('input, select, button')) {
      if (control.id !== 'cancel') control.disabled = !enabled;
    }
  }

  private showOptions(): void {
    const method = this.methodName;
    for (const field of element('explain-form').querySelectorAll<HTMLElement>('[data-option]')) {
      const option = field.dataset.option!;
      // The evaluation budget bounds the black-box methods' plans; the rest is attrib's table.
      const applies = option === 'maxEvaluations' ? isCoalitionMethod : METHOD_OPTIONS[option as MethodOptionName].appliesTo;
      field.hidden = !applies(method);
    }
    element('method-help').textContent = METHOD_HELP[method];
  }
}
