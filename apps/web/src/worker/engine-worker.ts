/// <reference lib="webworker" />
import { ExplainRefusal, loadModel, moxiSteps, PlayerGrid, type ExplainSpec, type LoadedModel } from '@moxi/attrib';
import { acquireDevice, GpuEngine, InputError, OptionError, type HostTensor } from '@moxi/kernels';
import { NO_MODEL, type ExplainResult, type ImageView, type Masking, type ModelSource, type ModelView, type PageErrorInfo, type PageRequest, type Prediction, type WorkerMessage, type WorkerReply } from './protocol.ts';

// The page's engine, off the main thread: one WebGPU device, the open model, the current
// image preprocessed for it. Models and images are read by the library's loadModel and
// readImageSource, as in Node; the forward passes are the kernels Node runs.

const scope = self as unknown as DedicatedWorkerGlobalScope;
let engine: GpuEngine | undefined;
let open: LoadedModel | undefined;
let picture: { blob: Blob; name: string; tensor?: HostTensor } | undefined;
const running = new Map<number, AbortController>();

class NoWebGpu extends Error {}
class Cancelled extends Error {}

async function device(): Promise<GpuEngine> {
  if (!('gpu' in navigator) || !navigator.gpu) throw new NoWebGpu('this browser does not offer it');
  if (!engine) {
    // Asked here first so that a browser with WebGPU switched off gets the browser's advice, not a server's.
    if (!(await navigator.gpu.requestAdapter())) throw new NoWebGpu('this browser has WebGPU but gives this page no adapter (it is switched off, or the graphics driver is blocked)');
    engine = new GpuEngine(await acquireDevice({ gpu: navigator.gpu }));
  }
  return engine;
}

/**
 * Opens a model in place of the one open: that one is dropped first, so a model that fails
 * to load leaves none open (nothing runs on the old one unannounced) until another loads.
 */
async function openModel(source: ModelSource): Promise<ModelView> {
  const t0 = performance.now();
  open?.destroy();
  open = undefined;
  if (picture) delete picture.tensor;
  const gpu = await device();
  open = await loadModel(source.kind === 'url' ? source.url : source.files, { engine: gpu });
  const { info } = open;
  const depth = info.family === 'vit' ? Number(info.details.depth) : 0;
  const a = gpu.gpu.adapter;
  const adapter = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'an unnamed adapter';
  return { info, depth, seconds: (performance.now() - t0) / 1000, adapter };
}

function current(): LoadedModel {
  if (!open) throw new Error(NO_MODEL);
  return open;
}

async function setImage(blob: Blob, name: string): Promise<ImageView> {
  const model = current();
  if (!model.prepared.preprocessing) throw new InputError(model.info.location, 'has no preprocessing settings (preprocessor_config.json or pretrained_cfg), so images cannot be fed to it');
  // A File, so that the library names the image as the page does (a fetched Blob has no name).
  const { input, seen } = await model.image(new File([blob], name, { type: blob.type }));
  picture = { blob, name, tensor: input };
  return { width: seen!.width, height: seen!.height, rgb: seen!.data };
}

async function image(): Promise<HostTensor> {
  if (!picture) throw new InputError('image', 'no image is chosen yet');
  if (!picture.tensor) await setImage(picture.blob, picture.name);
  return picture.tensor!;
}

async function predict(masking: Masking, hidden: number[]): Promise<Prediction> {
  const { model } = current();
  const input = await image();
  const players = PlayerGrid.create(model, masking.maskMode, masking.grid, masking.fromLayer);
  for (const p of hidden) if (!Number.isInteger(p) || p < 0 || p >= players.players) throw new OptionError('grid', `patch ${p} is outside the ${players.grid.join('x')} grid`);
  const shown = new Set(hidden);
  const keep = Array.from({ length: players.players }, (_, p) => p).filter((p) => !shown.has(p));
  const t0 = performance.now();
  const result = await model.forward(input, hidden.length === 0 ? {} : { mask: players.mask([keep]) });
  return { logits: Array.from(result.logits.subarray(0, result.classes)), milliseconds: performance.now() - t0 };
}

async function explain(id: number, spec: ExplainSpec): Promise<ExplainResult> {
  const loaded = current();
  const input = await image();
  const controller = new AbortController();
  running.set(id, controller);
  const t0 = performance.now();
  try {
    let plan: ExplainResult['plan'];
    const explanation = await loaded.explain({ name: picture!.name, input }, spec, {
      signal: controller.signal,
      onPlan: (p) => {
        plan = p;
        post({ type: 'plan', id, plan: p });
      },
      onProgress: (done, flops) => post({ type: 'progress', id, done, flops }),
    });
    const milliseconds = performance.now() - t0;
    const steps = explanation.attribution.order ? await moxiSteps(loaded.model, input, explanation.attribution, spec.game) : undefined;
    return { explanation, milliseconds, ...(steps ? { steps } : {}), ...(plan ? { plan } : {}) };
  } catch (error) {
    throw controller.signal.aborted ? new Cancelled('cancelled') : error;
  } finally {
    running.delete(id);
  }
}

function handle(request: PageRequest, id: number): Promise<unknown> {
  switch (request.type) {
    case 'open-model':
      return openModel(request.source);
    case 'set-image':
      return setImage(request.image, request.name);
    case 'predict':
      return predict(request.masking, request.hidden);
    case 'explain':
      return explain(id, request.spec);
  }
}

function describe(error: unknown): PageErrorInfo {
  if (error instanceof Cancelled) return { kind: 'cancelled', message: 'cancelled' };
  if (error instanceof NoWebGpu) return { kind: 'no-webgpu', message: error.message };
  if (error instanceof OptionError) return { kind: 'option', message: error.problem, option: error.option };
  if (error instanceof ExplainRefusal) return { kind: 'refusal', message: error.message };
  if (error instanceof InputError) return { kind: 'input', message: error.message };
  return { kind: 'failure', message: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
}

function post(reply: WorkerReply): void {
  scope.postMessage(reply);
}

scope.onmessage = (event: MessageEvent<WorkerMessage>) => {
  const message = event.data;
  if (message.type === 'cancel') {
    running.get(message.id)?.abort(new Error('cancelled'));
    return;
  }
  const { id, request } = message;
  handle(request, id).then(
    (value) => post({ type: 'result', id, value }),
    (error) => post({ type: 'error', id, error: describe(error) }),
  );
};
