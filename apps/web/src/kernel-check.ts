import {
  acquireDevice,
  InputError,
  parseNpy,
  GpuEngine,
  prepareModel,
  readImageSource,
  readModelSource,
  type ForwardRequest,
  type GpuAdapterSummary,
  type HostTensor,
  type ImageClassifier,
  type PreparedModel,
} from '@moxi/kernels';

export interface PredictRequest {
  /** Model folder URL (config.json + model.safetensors). */
  model: string;
  /** A .npy URL (normalised tensor) or an image URL (preprocessed as the folder says). */
  input: string;
  mask?: ForwardRequest['mask'];
}

export interface PredictResponse {
  logits: number[][];
  adapter: GpuAdapterSummary;
}

async function fetchNpy(url: string): Promise<HostTensor> {
  const response = await fetch(url);
  if (!response.ok) throw new InputError(url, 'could not be fetched');
  return parseNpy(new Uint8Array(await response.arrayBuffer()), url);
}

/**
 * The kernel check page (kernel-check.html): forward passes on the browser's WebGPU from
 * model and .npy URLs, called by the browser test through window.moxiKernels to compare
 * Chromium with Node (Dawn) and PyTorch. The explainer page does not use it.
 */
export class KernelCheck {
  private engine: GpuEngine | undefined;
  private readonly models = new Map<string, { prepared: PreparedModel; model: ImageClassifier }>();

  async device(): Promise<GpuEngine> {
    this.engine ??= new GpuEngine(await acquireDevice());
    return this.engine;
  }

  async model(url: string): Promise<{ prepared: PreparedModel; model: ImageClassifier }> {
    const cached = this.models.get(url);
    if (cached) return cached;
    const prepared = prepareModel(await readModelSource(url));
    const entry = { prepared, model: prepared.instantiate(await this.device()) };
    this.models.set(url, entry);
    return entry;
  }

  async inputTensor(url: string, prepared: PreparedModel): Promise<HostTensor> {
    if (url.toLowerCase().endsWith('.npy')) return fetchNpy(url);
    const { info, preprocessing } = prepared;
    return (await readImageSource(url, { location: info.location, inputShape: info.inputShape, ...(preprocessing ? { preprocessing } : {}) })).input;
  }

  async predict(request: PredictRequest): Promise<PredictResponse> {
    const { prepared, model } = await this.model(request.model);
    const input = await this.inputTensor(request.input, prepared);
    const result = await model.forward(input, request.mask ? { mask: request.mask } : {});
    const logits: number[][] = [];
    for (let r = 0; r < result.rows; r++) logits.push(Array.from(result.logits.subarray(r * result.classes, (r + 1) * result.classes)));
    return { logits, adapter: (await this.device()).gpu.adapter };
  }
}

(globalThis as { moxiKernels?: KernelCheck }).moxiKernels = new KernelCheck();
