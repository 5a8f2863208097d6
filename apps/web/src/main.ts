import type { ForwardRequest, HostTensor, PreparedModel } from '@moxi/kernels';
import { MoxiPageApi } from './moxi-page-api.ts';

const api = new MoxiPageApi();
(globalThis as { moxi?: MoxiPageApi }).moxi = api;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const grid = $<HTMLDivElement>('grid');
const preview = $<HTMLCanvasElement>('preview');

let hidden = new Set<number>();
let current: { prepared: PreparedModel; input: HostTensor } | undefined;

function setStatus(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
}

function softmax(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function drawPreview(input: HostTensor): void {
  const [, , H = 1, W = 1] = input.shape;
  const ctx = preview.getContext('2d')!;
  const image = ctx.createImageData(W, H);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of input.data.subarray(0, 3 * H * W)) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  for (let i = 0; i < H * W; i++) {
    for (let c = 0; c < 3; c++) image.data[4 * i + c] = ((input.data[c * H * W + i]! - lo) / (hi - lo || 1)) * 255;
    image.data[4 * i + 3] = 255;
  }
  preview.width = W;
  preview.height = H;
  ctx.putImageData(image, 0, 0);
}

function drawGrid([gh, gw]: [number, number]): void {
  grid.style.gridTemplateColumns = `repeat(${gw}, 1fr)`;
  grid.replaceChildren(
    ...Array.from({ length: gh * gw }, (_, p) => {
      const b = document.createElement('button');
      b.title = `patch ${p}`;
      b.classList.toggle('hidden-patch', hidden.has(p));
      b.onclick = () => {
        if (hidden.has(p)) hidden.delete(p);
        else hidden.add(p);
        b.classList.toggle('hidden-patch', hidden.has(p));
        void run();
      };
      return b;
    }),
  );
}

async function run(): Promise<void> {
  if (!current) return;
  const { prepared, input } = current;
  const [gh, gw] = prepared.info.grid;
  const keep = Array.from({ length: gh * gw }, (_, p) => p).filter((p) => !hidden.has(p));
  const mode = $<HTMLSelectElement>('mask-mode').value as 'token' | 'attention';
  const request: ForwardRequest = hidden.size === 0 ? {} : { mask: mode === 'token' ? { mode, keep: [keep] } : { mode, keep: [keep], fromLayer: 0 } };
  const { model } = await api.model($<HTMLInputElement>('model-url').value);
  const t0 = performance.now();
  const result = await model.forward(input, request);
  const logits = Array.from(result.logits.subarray(0, result.classes));
  const probs = softmax(logits);
  const order = logits.map((_, i) => i).sort((a, b) => logits[b]! - logits[a]!).slice(0, 5);
  const body = $<HTMLTableElement>('top').tBodies[0]!;
  body.replaceChildren(
    ...order.map((i) => {
      const row = document.createElement('tr');
      for (const text of [prepared.labels?.[i] ?? String(i), `${(100 * probs[i]!).toFixed(1)}%`, logits[i]!.toFixed(3)]) {
        const cell = document.createElement('td');
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    }),
  );
  setStatus(`${hidden.size} of ${gh * gw} patches hidden; forward pass ${(performance.now() - t0).toFixed(0)} ms`);
}

async function load(file?: File): Promise<void> {
  try {
    const { prepared } = await api.model($<HTMLInputElement>('model-url').value);
    const blob = file ?? (await (await fetch('images/demo.png')).blob());
    const input = await api.imageTensor(blob, prepared);
    current = { prepared, input };
    hidden = new Set();
    drawPreview(input);
    drawGrid(prepared.info.grid);
    await run();
  } catch (error) {
    setStatus(String((error as Error).message ?? error), true);
  }
}

$<HTMLButtonElement>('run').onclick = () => void load($<HTMLInputElement>('image-file').files?.[0]);
$<HTMLButtonElement>('reset-mask').onclick = () => {
  hidden = new Set();
  if (current) drawGrid(current.prepared.info.grid);
  void run();
};
$<HTMLSelectElement>('mask-mode').onchange = () => void run();

api
  .device()
  .then((engine) => {
    setStatus(`WebGPU: ${engine.gpu.adapter.description || engine.gpu.adapter.vendor}`);
    return load();
  })
  .catch((error: Error) => setStatus(error.message, true));
