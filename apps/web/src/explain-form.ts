import {
  EXPLAIN_OPTION_NAMES,
  EXPLAIN_OPTIONS,
  explainSpecFrom,
  numberDefault,
  optionDefault,
  readMasking,
  readOptionValue,
  readsAttention,
  type ExplainOptionName,
  type ExplainSpec,
  type GivenOptions,
  type MethodName,
  type OptionModel,
} from '@moxi/attrib';
import { defaultMaskModeOf, OptionError, type MaskMode, type ModelInfo } from '@moxi/kernels';
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

/** The field of a library option (a refusal from the worker names the option): its key in attrib's table. */
export function fieldOf(option: string): string {
  return option in EXPLAIN_OPTIONS ? EXPLAIN_OPTIONS[option as ExplainOptionName].key : option;
}

/** An option refusal in the page's words: the field's label, other options by their labels. */
function asFieldError(error: unknown): unknown {
  if (!(error instanceof OptionError)) return error;
  const label = (name: string) => (name === 'method' ? 'the method' : name in EXPLAIN_OPTIONS ? `"${EXPLAIN_OPTIONS[name as ExplainOptionName].label}"` : name);
  const option = error.option as string;
  return new FieldError(fieldOf(option), `${option in EXPLAIN_OPTIONS ? EXPLAIN_OPTIONS[option as ExplainOptionName].label : option}: ${error.problemNaming(label)}`);
}

/** The options in the "Players and masking" fieldset, shared with the patch view. */
const MASKING_OPTIONS: readonly ExplainOptionName[] = ['maskMode', 'fromLayer', 'grid'];

const METHOD_HELP: Record<MethodName, string> = {
  'moxi-insertion': 'MoXI insertion: adds the patch that raises the class most, step by step, from a blank image',
  'moxi-deletion': 'MoXI deletion: removes the patch that lowers the class most, step by step, from the full image',
  'shapley-self': 'Shapley values from each patch alone (one coalition per patch)',
  'shapley-full': 'Shapley values from removing each patch from the full image',
  'shapley-exact': 'exact Shapley values over every coalition (2^N evaluations)',
  'shapley-sampling': 'Shapley values estimated from sampled permutations',
  'kernel-shap': 'KernelSHAP: Shapley values as a kernel-weighted linear fit over coalitions',
  lime: 'LIME: a ridge fit over random coalitions, weighted by closeness to the full image',
  'rise-players': 'RISE over the players: random masks of patches, each patch scored by the class probability of the masks that keep it',
  'interaction-self': 'each patch\'s summed pairwise interactions, measured on pairs alone',
  'interaction-full': 'each patch\'s summed pairwise interactions, measured by removing pairs',
  'shapley-interaction': 'Shapley interaction index of groups of up to k patches (exact up to 12 patches, else sampled among the 8 that matter most); patches coloured by their Shapley value',
  'shapley-taylor': 'Shapley-Taylor index of order k: groups of up to k patches whose terms add up to the class\'s evidence; patches coloured by their own term',
  gradcam: 'Grad-CAM: gradient-weighted activations of the last block',
  rollout: 'attention rollout: attention propagated through the blocks (ViTs)',
  chefer: 'Chefer relevance: attention weighted by its gradient, propagated through the blocks (ViTs)',
  'integrated-gradients': 'integrated gradients: the gradient of the class logit along the path from a baseline image, times the difference, summed per patch',
  smoothgrad: 'SmoothGrad: the gradient of the class logit averaged over noisy copies of the image, summed per patch',
  'input-x-gradient': 'input × gradient: each pixel times the gradient of the class logit, summed per patch',
  rise: 'RISE: random smooth pixel masks, each pixel scored by the class probability of the masked images that keep it',
};

/**
 * The explanation settings, built from attrib's option table: the method's choices, each
 * select's choices and each field's default come from it, the fields of options a method
 * does not take are hidden, and a request is read and checked by attrib (explainSpecFrom),
 * as the CLI reads its flags. A field counts as given when it shows and differs from its
 * default, so a hidden or untouched field never changes anything.
 */
export class ExplainForm {
  private readonly method = element<HTMLSelectElement>('method');
  private info: ModelInfo | undefined;
  private depth = 0;

  constructor() {
    for (const name of EXPLAIN_OPTION_NAMES) {
      const option = EXPLAIN_OPTIONS[name];
      const field = element<HTMLInputElement | HTMLSelectElement>(option.key);
      if (field instanceof HTMLSelectElement && option.choices && name !== 'maskMode') {
        field.replaceChildren(...option.choices.map((c) => make('option', { value: c, textContent: option.choiceLabels?.[c] ?? c })));
      }
      this.resetField(name);
    }
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
    this.depth = depth;
    const vit = info.family === 'vit';
    const maskMode = EXPLAIN_OPTIONS.maskMode;
    const modes = (maskMode.choices as readonly MaskMode[]).filter((m) => vit || m === 'pixel');
    element<HTMLSelectElement>(maskMode.key).replaceChildren(...modes.map((m) => make('option', { value: m, textContent: maskMode.choiceLabels?.[m] ?? m })));
    element<HTMLSelectElement>(maskMode.key).value = defaultMaskModeOf(info.family);
    const fromLayer = element<HTMLInputElement>(EXPLAIN_OPTIONS.fromLayer.key);
    fromLayer.max = String(Math.max(0, depth - 1));
    this.resetField('fromLayer');
    element<HTMLInputElement>('grid').value = String(info.declaredGrid ?? '');
    element<HTMLInputElement>('grid').placeholder = `${info.grid.join('x')} (${vit ? 'tokens' : 'cells'})`;
    element<HTMLInputElement>('target').max = String(info.numClasses - 1);
    for (const option of this.method.options) option.disabled = readsAttention(option.value) && !vit;
    if (!vit && readsAttention(this.methodName)) this.methodName = 'moxi-insertion';
    this.showOptions();
  }

  /** Players and masking for patch toggling (and, through spec(), the black-box methods). */
  masking(): Masking {
    const model = this.model();
    try {
      const { maskMode, fromLayer } = readMasking(this.given(MASKING_OPTIONS), model);
      const gridText = element<HTMLInputElement>('grid').value.trim();
      const grid = gridText === '' ? undefined : (readOptionValue('grid', gridText, model) as number);
      return { maskMode, fromLayer: fromLayer ?? numberDefault('fromLayer'), ...(grid !== undefined ? { grid } : {}) };
    } catch (error) {
      throw asFieldError(error);
    }
  }

  /**
   * The request for `method`, read and checked by attrib. `applicableOnly` (Compare all
   * methods) leaves out, per method, the settings that do not apply to it instead of
   * refusing them.
   */
  spec(method: MethodName = this.methodName, applicableOnly = false): ExplainSpec {
    const given: GivenOptions = { ...this.given(EXPLAIN_OPTION_NAMES.filter((name) => name !== 'method')), method };
    if (applicableOnly) for (const name of EXPLAIN_OPTION_NAMES) if (!EXPLAIN_OPTIONS[name].appliesTo(method)) delete given[name];
    try {
      return explainSpecFrom(given, this.model());
    } catch (error) {
      throw asFieldError(error);
    }
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

  private model(): OptionModel {
    const info = this.info;
    if (!info) return { family: 'vit', depth: this.depth, numClasses: Infinity };
    return { family: info.family, depth: this.depth, numClasses: info.numClasses, labels: info.labels, declaredGrid: info.declaredGrid };
  }

  /** A field's value at the table's default (the model's declared grid for the grid field). */
  private resetField(name: ExplainOptionName): void {
    const option = EXPLAIN_OPTIONS[name];
    const field = element<HTMLInputElement | HTMLSelectElement>(option.key);
    const value = optionDefault(name);
    if (field instanceof HTMLInputElement && field.type === 'checkbox') field.checked = value === true;
    else if (value !== undefined) field.value = String(value);
  }

  /**
   * The options among `names` the user set: fields that show (the method takes the option,
   * or it is a masking setting) and differ from their default. The grid counts as given
   * when it differs from what the model declares.
   */
  private given(names: readonly ExplainOptionName[]): GivenOptions {
    const given: GivenOptions = {};
    for (const name of names) {
      const option = EXPLAIN_OPTIONS[name];
      const field = element<HTMLInputElement | HTMLSelectElement>(option.key);
      if (field.closest<HTMLElement>('[hidden]')) continue;
      if (field instanceof HTMLInputElement && field.type === 'checkbox') {
        if (field.checked) given[name] = true;
        continue;
      }
      const text = field.value.trim();
      const fallback = name === 'grid' ? String(this.info?.declaredGrid ?? '') : name === 'maskMode' && this.info ? defaultMaskModeOf(this.info.family) : String(optionDefault(name) ?? '');
      if (text !== fallback) given[name] = field.value;
    }
    return given;
  }

  private showOptions(): void {
    const method = this.methodName;
    for (const field of element('explain-form').querySelectorAll<HTMLElement>('[data-option]')) {
      field.hidden = !EXPLAIN_OPTIONS[field.dataset.option as ExplainOptionName].appliesTo(method);
    }
    element('method-help').textContent = METHOD_HELP[method];
  }
}
