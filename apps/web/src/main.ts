import { DEFAULT_HEATMAP_OPACITY, METHODS, readsAttention, type Attribution, type MethodName } from '@moxi/attrib';
import { BUNDLED_MODELS, loadGallery, type GalleryImage } from './bundled.ts';
import { Comparison } from './comparison.ts';
import { classLabel, element, make, softmax } from './elements.ts';
import { ExplainForm, FieldError, fieldOf } from './explain-form.ts';
import { drawLegend } from './legend.ts';
import { ResultView } from './result-view.ts';
import { Stage } from './stage.ts';
import { EngineClient, PageError } from './worker/worker-client.ts';
import { NO_MODEL, type ExplainResult, type ModelSource, type ModelView } from './worker/protocol.ts';

// The explainer page: the model and image are chosen here, every forward pass and
// explanation runs in the engine worker, and the results are drawn from what it returns.

const stage = new Stage();
const form = new ExplainForm();
const resultView = new ResultView();
const comparison = new Comparison();
let engine: EngineClient | undefined;
let model: ModelView | undefined;
let picture: { blob: Blob; name: string } | undefined;
let firstExplanationAt: number | undefined;
let cancelCurrent: (() => void) | undefined;
let predictSerial = 0;

function labels(): readonly string[] | undefined {
  return model?.info.labels;
}

/** The open model; none (the last load failed) refuses the work in words rather than running on an older one. */
function openedModel(): ModelView {
  if (!model) throw new Error(NO_MODEL);
  return model;
}

// ---- busy state, errors ------------------------------------------------------------

function setBusy(value: boolean): void {
  form.setEnabled(!value);
  comparison.setEnabled(!value);
  stage.setEnabled(!value);
  for (const id of ['model-select', 'model-folder', 'model-url', 'load-model-url', 'image-file', 'mask-mode', 'mask-from-layer', 'grid', 'show-all']) {
    (element(id) as HTMLInputElement).disabled = value;
  }
  for (const b of element('gallery').querySelectorAll('button')) b.disabled = value;
  element<HTMLButtonElement>('cancel').disabled = !value || !cancelCurrent;
}

function clearError(): void {
  element('error').hidden = true;
  element('error').textContent = '';
  for (const field of document.querySelectorAll('[aria-invalid="true"]')) field.removeAttribute('aria-invalid');
}

function showError(error: unknown): void {
  if (error instanceof PageError && error.kind === 'cancelled') {
    element('progress-text').textContent = 'cancelled';
    return;
  }
  if (error instanceof PageError && error.kind === 'no-webgpu') {
    showNoWebGpu(error.message);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  const field = error instanceof FieldError ? error.field : error instanceof PageError && error.option ? fieldOf(error.option) : undefined;
  const label = field ? document.getElementById(field)?.closest('label')?.firstChild?.textContent?.trim() : undefined;
  element('error').textContent = label && error instanceof PageError ? `${label}: ${message}` : message;
  element('error').hidden = false;
  if (field) document.getElementById(field)?.setAttribute('aria-invalid', 'true');
}

let queue: Promise<void> = Promise.resolve();
let pending = 0;

/**
 * Runs one piece of work after the work before it; any failure is shown, never thrown.
 * Long work (models, images, explanations) disables the controls; a quick forward pass
 * after a patch press or a masking change does not, so a click that follows a field's
 * change (the change fires on the blur the click causes) is not swallowed, only queued.
 */
function work(task: () => Promise<void>, { quick = false } = {}): Promise<void> {
  pending += 1;
  document.body.setAttribute('aria-busy', 'true');
  queue = queue.then(async () => {
    clearError();
    if (!quick) setBusy(true);
    try {
      await task();
    } catch (error) {
      showError(error);
    } finally {
      cancelCurrent = undefined;
      if (!quick) setBusy(false);
      pending -= 1;
      if (pending === 0) document.body.removeAttribute('aria-busy');
    }
  });
  return queue;
}

function showNoWebGpu(reason: string): void {
  element('no-webgpu').hidden = false;
  element('no-webgpu-reason').textContent = reason;
  element('app').hidden = true;
  element('gpu-status').textContent = 'WebGPU unavailable';
}

// ---- model and image ---------------------------------------------------------------

function clearResults(): void {
  element('progress-row').hidden = true;
  resultView.clear();
  comparison.clear();
  stage.clearHeatmap();
  drawLegend(undefined, undefined, '');
}

/** The model chooser shows the bundled model open, else its placeholder saying what is (a folder or URL, or none). */
function showChosen(url: string | undefined, placeholder: string): void {
  const select = element<HTMLSelectElement>('model-select');
  const other = select.querySelector<HTMLOptionElement>('option[value=""]')!;
  other.textContent = placeholder;
  select.value = url !== undefined && BUNDLED_MODELS.some((m) => m.url === url) ? url : '';
}

/**
 * Opens a model in place of the one open. The worker drops the old one first; when the new
 * one fails, the model line says so and no model is open until another loads.
 */
async function openModel(given: ModelSource, name: string): Promise<void> {
  // The worker resolves URLs against its own script: give it the page's absolute URL.
  const source: ModelSource = given.kind === 'url' ? { kind: 'url', url: new URL(given.url, location.href).href } : given;
  clearResults();
  element<HTMLTableElement>('top').tBodies[0]!.replaceChildren();
  element('mask-status').textContent = '';
  model = undefined;
  const line = element('model-info');
  line.classList.remove('failed');
  line.textContent = `loading ${name}…`;
  let view: ModelView;
  try {
    view = await engine!.openModel(source);
  } catch (error) {
    line.classList.add('failed');
    line.textContent = `No model is loaded: ${name} could not be opened. ${error instanceof Error ? error.message : String(error)}`;
    showChosen(undefined, 'none loaded (choose one)');
    throw error;
  }
  model = view;
  showChosen(given.kind === 'url' ? given.url : undefined, `another model: ${name}`);
  form.setModel(view.info, view.depth);
  const i = view.info;
  line.textContent =
    `${name}: ${i.architecture} (${i.family === 'vit' ? 'ViT' : 'CNN'}), ${(i.parameters / 1e6).toFixed(2)} M parameters, ` +
    `${i.inputShape[1]}x${i.inputShape[2]} input, ${i.numClasses} classes, ${i.grid.join('x')} ${i.family === 'vit' ? 'tokens' : 'cells'}` +
    `${i.declaredGrid ? `, declares ${i.declaredGrid}x${i.declaredGrid} players` : ''}; loaded in ${view.seconds.toFixed(2)} s`;
  if (picture) await setImage(picture.blob, picture.name);
}

async function setImage(blob: Blob, name: string): Promise<void> {
  clearResults();
  picture = { blob, name };
  openedModel();
  const view = await engine!.setImage(blob, name);
  stage.showImage(view);
  element('stage-caption').textContent = `${name}, as the model sees it (${view.width}x${view.height}). Press patches to hide them (Tab to reach them, arrow keys to move, Space to press).`;
  stage.setGrid(playerGrid());
  await predict();
}

function playerGrid(): [number, number] {
  const masking = form.masking();
  return masking.grid !== undefined ? [masking.grid, masking.grid] : openedModel().info.grid;
}

async function predict(): Promise<void> {
  openedModel();
  if (!picture) return;
  const serial = ++predictSerial;
  const masking = form.masking();
  const hidden = stage.hiddenPatches;
  const { logits, milliseconds } = await engine!.predict(masking, hidden);
  if (serial !== predictSerial) return;
  const probabilities = softmax(logits);
  const order = logits.map((_, c) => c).sort((a, b) => logits[b]! - logits[a]!).slice(0, 5);
  element<HTMLTableElement>('top').tBodies[0]!.replaceChildren(
    ...order.map((c) => make('tr', {}, [make('td', { textContent: classLabel(c, labels()) }), make('td', { textContent: `${(100 * probabilities[c]!).toFixed(2)}%` }), make('td', { textContent: logits[c]!.toFixed(4) })])),
  );
  const [gh, gw] = playerGrid();
  const how = element<HTMLSelectElement>('mask-mode').selectedOptions[0]?.textContent ?? masking.maskMode;
  element('mask-status').textContent = `${hidden.length} of ${gh * gw} patches hidden (${how}${masking.maskMode === 'attention' ? ` from block ${masking.fromLayer}` : ''}); forward pass ${milliseconds.toFixed(0)} ms`;
}

// ---- explanations ------------------------------------------------------------------

/** `applicableOnly`: Compare all methods runs each method with the settings that apply to it. */
async function explain(method: MethodName, applicableOnly = false): Promise<ExplainResult> {
  const opened = openedModel();
  const spec = form.spec(method, applicableOnly);
  const row = element('progress-row');
  const bar = element<HTMLProgressElement>('progress');
  const text = element('progress-text');
  row.hidden = false;
  bar.removeAttribute('value');
  text.textContent = `${method}: starting…`;
  let total = 0;
  const { result, cancel } = engine!.explain(spec, {
    onPlan: (plan) => {
      total = plan.evaluations;
      bar.value = 0;
      text.textContent = `${method}: ${plan.mayStopEarly ? 'at most ' : ''}${plan.evaluations.toLocaleString('en-US')} coalitions of ${plan.grid.join('x')} players planned, ${(plan.flops / 1e9).toFixed(2)} GFLOP`;
    },
    onProgress: (done) => {
      bar.value = Math.min(1, done / total);
      text.textContent = `${method}: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} coalitions`;
    },
  });
  cancelCurrent = cancel;
  element<HTMLButtonElement>('cancel').disabled = false;
  const explained = await result;
  text.textContent = `${method}: done in ${(explained.milliseconds / 1000).toFixed(2)} s`;
  bar.value = 1;
  show(explained);
  comparison.add(explained, element<HTMLCanvasElement>('image-canvas'));
  if (firstExplanationAt === undefined) {
    firstExplanationAt = performance.now();
    element('timing').textContent = `First explanation ${(firstExplanationAt / 1000).toFixed(2)} s after the page started loading (model loaded in ${opened.seconds.toFixed(2)} s, ${method} ran in ${(explained.milliseconds / 1000).toFixed(2)} s).`;
  }
  return explained;
}

function show(result: ExplainResult): void {
  resultView.show(result, labels());
}

resultView.onStep = (attribution: Attribution, steps: readonly number[] | undefined) => {
  drawLegend(attribution, stage.showHeatmap(attribution, steps), form.reward);
};
comparison.onSelect = (result) => show(result);

/** Every method that applies to this model, one after the other; a refusal does not stop the rest. */
async function explainAll(): Promise<void> {
  const { info } = openedModel();
  const failures: string[] = [];
  for (const method of METHODS) {
    if (readsAttention(method) && info.family !== 'vit') continue;
    try {
      await explain(method, true);
    } catch (error) {
      if (error instanceof PageError && error.kind === 'cancelled') throw error;
      failures.push(`${method}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length) throw new Error(failures.join(' · '));
}

// ---- wiring ------------------------------------------------------------------------

async function imageFromUrl(url: string, name: string): Promise<void> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} could not be fetched (${response.status})`);
  await setImage(await response.blob(), name);
}

function galleryButton(image: GalleryImage): HTMLButtonElement {
  const [a, b, c, d] = image.digits;
  const button = make('button', { type: 'button', className: 'thumb', title: `${image.file}: digits ${a} ${b} / ${c} ${d}, sum of the different digits ${image.label}` }, [
    make('img', { src: image.url, alt: `digits ${a} ${b} ${c} ${d}`, width: 56, height: 56 }),
    make('span', { textContent: `${a} ${b} / ${c} ${d} → ${image.label}` }),
  ]);
  button.dataset.file = image.file;
  button.addEventListener('click', () => void work(() => imageFromUrl(image.url, image.file)));
  return button;
}

function imageFromFiles(files: FileList | null | undefined): void {
  const file = files?.[0];
  if (!file) return;
  void work(() => setImage(file, file.name));
}

function wire(): void {
  const select = element<HTMLSelectElement>('model-select');
  // The empty option stands for a model from a folder or URL, or for none after a failed load.
  select.replaceChildren(...BUNDLED_MODELS.map((m) => make('option', { value: m.url, textContent: m.label })), make('option', { value: '', disabled: true, hidden: true }));
  select.addEventListener('change', () => void work(() => openModel({ kind: 'url', url: select.value }, BUNDLED_MODELS.find((m) => m.url === select.value)!.id)));
  element<HTMLInputElement>('model-folder').addEventListener('change', (event) => {
    const input = event.target as HTMLInputElement;
    const files = [...(input.files ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
    if (files.length === 0) return;
    const name = files[0]!.path.split('/')[0]!;
    void work(() => openModel({ kind: 'folder', name, files }, name));
    input.value = '';
  });
  element('model-url-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const url = element<HTMLInputElement>('model-url').value.trim();
    if (url) void work(() => openModel({ kind: 'url', url }, url));
  });
  element<HTMLInputElement>('image-file').addEventListener('change', (event) => {
    imageFromFiles((event.target as HTMLInputElement).files);
    (event.target as HTMLInputElement).value = '';
  });
  const drop = element('drop-zone');
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('dragging');
    imageFromFiles(event.dataTransfer?.files);
  });
  document.addEventListener('paste', (event) => {
    const file = [...(event.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (file) imageFromFiles(Object.assign([file], { item: () => file }) as unknown as FileList);
  });

  stage.onToggle = () => void work(predict, { quick: true });
  stage.canToggle = () => {
    if (model) return true;
    void work(async () => void openedModel(), { quick: true });
    return false;
  };
  element('show-all').addEventListener('click', () =>
    void work(async () => {
      stage.showAll();
      await predict();
    }, { quick: true }),
  );
  const maskingChanged = () =>
    void work(async () => {
      element('mask-from-layer-field').hidden = element<HTMLSelectElement>('mask-mode').value !== 'attention';
      stage.fitGrid(playerGrid());
      await predict();
    }, { quick: true });
  for (const id of ['mask-mode', 'mask-from-layer', 'grid']) element(id).addEventListener('change', maskingChanged);
  element<HTMLInputElement>('opacity').value = String(DEFAULT_HEATMAP_OPACITY);
  element<HTMLInputElement>('opacity').addEventListener('input', (event) => stage.setOpacity(Number((event.target as HTMLInputElement).value)));

  element('explain-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void work(async () => {
      resultView.clear();
      stage.clearHeatmap();
      drawLegend(undefined, undefined, '');
      await explain(form.methodName);
    });
  });
  element('explain-all').addEventListener('click', () => void work(explainAll));
  element('cancel').addEventListener('click', () => cancelCurrent?.());
}

/** The built page works offline once loaded: its service worker stores the app, models and examples. */
function keepForOffline(): void {
  if (import.meta.env.PROD && 'serviceWorker' in navigator) {
    navigator.serviceWorker.register('offline.js').catch((error: Error) => console.warn(`offline copy unavailable: ${error.message}`));
  }
}

async function start(): Promise<void> {
  wire();
  keepForOffline();
  if (!('gpu' in navigator) || !navigator.gpu) {
    showNoWebGpu('this browser does not offer it (navigator.gpu is missing)');
    return;
  }
  engine = new EngineClient();
  const gallery = await loadGallery();
  element('gallery').replaceChildren(...gallery.map(galleryButton));
  await work(async () => {
    const first = BUNDLED_MODELS[0];
    await openModel({ kind: 'url', url: first.url }, first.id);
    element('gpu-status').textContent = `WebGPU on ${model!.adapter}; the model runs in a worker on this page.`;
    await imageFromUrl(gallery[0]!.url, gallery[0]!.file);
    await explain(form.methodName);
  });
}

void start().catch(showError);
