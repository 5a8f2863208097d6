/**
 * The one call for programs that embed moxi, in Node and in browsers: load a model from
 * wherever it is, then explain or classify images given however the program has them.
 *
 *   const model = await loadModel('models/setsum-vit');          // a path, a URL, picked Files
 *   const { attribution } = await model.explain('digits.png', { method: 'moxi-insertion' });
 *
 * The pieces underneath (readModelSource, prepareModel, readImageSource, explainImages)
 * stay public for programs that need more control; the CLI and the page use these.
 */
import {
  acquireDevice,
  GpuEngine,
  prepareModel,
  readImageSource,
  readModelSource,
  type AcquireOptions,
  type ImageClassifier,
  type ImageSource,
  type ModelImage,
  type ModelInfo,
  type ModelSource,
  type Precision,
  type PreparedModel,
} from '@moxi/kernels';
import type { MethodName } from './attribution.ts';
import { explainImages, type ExplainHooks, type ExplainSpec, type Explanation } from './explain.ts';
import { optionDefault, validateExplainSpec } from './explain-options.ts';
import type { MethodOptions, ModelMethodOptions } from './methods/run-method.ts';
import type { ModelGameOptions } from './model-game.ts';
import { topClasses, type RankedClass } from './top-classes.ts';

// What an embedder names besides the model: its description, the sources it reads, and
// the errors a bad file or option raises (each names the input), without a second import.
export { InputError, OptionError, GpuUnavailableError } from '@moxi/kernels';
export type { GpuEngine, ImageSource, ModelImage, ModelInfo, ModelSource, Precision } from '@moxi/kernels';

export interface LoadModelOptions {
  /** The engine to run on; default one shared engine on the first adapter found (acquireDevice). */
  engine?: GpuEngine;
  /** Options for that default engine's device (ignored when `engine` is given). */
  device?: AcquireOptions;
  /** f16 needs the adapter's shader-f16; ViTs only. */
  precision?: Precision;
  /** Stops fetching a model over the network. */
  signal?: AbortSignal;
}

/** What to explain and how: every field optional (default MoXI insertion, the library's defaults for the rest). */
export interface ExplainRequest {
  method?: MethodName;
  game?: ModelGameOptions;
  options?: MethodOptions;
  modelOptions?: Omit<ModelMethodOptions, 'grid'>;
}

export interface ImageClassification {
  /** Logits of the image, one per class. */
  logits: Float32Array;
  /** The k most likely classes, softmax in float64. */
  top: RankedClass[];
}

let sharedEngine: Promise<GpuEngine> | undefined;

/** One engine per program unless the caller brings its own: a device is costly to open and models share it well. */
function defaultEngine(options?: AcquireOptions): Promise<GpuEngine> {
  sharedEngine ??= acquireDevice(options).then((gpu) => new GpuEngine(gpu));
  // A failed acquisition is not remembered: the next call tries again (a driver installed since, say).
  sharedEngine.catch(() => (sharedEngine = undefined));
  return sharedEngine;
}

/** A model on the GPU, with what is needed to feed it images and explain them. */
export class LoadedModel {
  private destroyed = false;

  constructor(
    readonly prepared: PreparedModel,
    readonly model: ImageClassifier,
  ) {}

  get info(): ModelInfo {
    return this.prepared.info;
  }

  get engine(): GpuEngine {
    return this.model.engine;
  }

  private live(): ImageClassifier {
    if (this.destroyed) throw new Error(`${this.info.location} was destroyed; load it again`);
    return this.model;
  }

  /** Reads, decodes and preprocesses an image for this model (a ModelImage passes through). */
  async image(source: ImageSource | ModelImage, signal?: AbortSignal): Promise<ModelImage> {
    if (typeof source === 'object' && 'input' in source && 'name' in source) return source;
    return readImageSource(source, { location: this.info.location, inputShape: this.info.inputShape, ...(this.prepared.preprocessing ? { preprocessing: this.prepared.preprocessing } : {}) }, signal);
  }

  /** The model's logits on the whole image and its top k classes. */
  async classify(source: ImageSource | ModelImage, k = 5): Promise<ImageClassification> {
    const { input } = await this.image(source);
    const result = await this.live().forward(input);
    const logits = result.logits.slice(0, result.classes);
    return { logits, top: topClasses(logits, k, this.prepared.labels) };
  }

  /**
   * Explains one image: the option table's default method (MoXI insertion) unless
   * `request.method` says otherwise; the request is checked as the CLI and the page check
   * theirs (validateExplainSpec). Hooks report the plan and progress and cancel.
   */
  async explain(source: ImageSource | ModelImage, request: ExplainRequest = {}, hooks: ExplainHooks = {}): Promise<Explanation> {
    const spec: ExplainSpec = { method: request.method ?? (optionDefault('method') as MethodName), game: request.game ?? {} };
    if (request.options) spec.options = request.options;
    if (request.modelOptions) spec.modelOptions = request.modelOptions;
    const { info } = this;
    validateExplainSpec(spec, { family: info.family, depth: Number(info.details.depth), numClasses: info.numClasses, labels: info.labels, declaredGrid: info.declaredGrid });
    const { input } = await this.image(source, hooks.signal);
    const [explanation] = await explainImages(this.live(), [input], spec, hooks);
    return explanation!;
  }

  /** Frees the weights on the GPU; the shared engine stays for other models. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.model.destroy();
  }
}

/**
 * Loads a model: a folder path (Node), a URL (absolute, or relative to the page), the
 * files of a folder the user picked, or ModelFiles already read. Single or sharded
 * safetensors in timm or Hugging Face layout. Everything is checked before the GPU is
 * touched, so a bad folder is refused with its file named and no device opened.
 */
export async function loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const prepared = prepareModel(await readModelSource(source, options.signal));
  const engine = options.engine ?? (await defaultEngine(options.device));
  return new LoadedModel(prepared, prepared.instantiate(engine, options.precision ? { precision: options.precision } : {}));
}
