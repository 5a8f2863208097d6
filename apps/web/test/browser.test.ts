import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice, GpuEngine, prepareModel } from '@moxi/kernels';
import { readInputFile, readModelFiles } from '@moxi/kernels/node';
import { goldenInput, goldenLogits, goldenModelFiles, VIT_FIXTURES, vitGoldenFolders } from '@moxi/kernels/testing';
import type { KernelCheck, PredictRequest, PredictResponse } from '../src/kernel-check.ts';
import { serveFolders } from '../scripts/static-server.mjs';

// The built web app (dist/, made by `turbo run build` before tests) in Debian's headless
// Chromium, whose WebGPU runs on SwiftShader: the same ViT forward must give the Node
// (Dawn) result. Tolerance 1e-4 absolute on O(1) logits: two float32 engines with
// different summation orders differ by ~1e-6; a kernel or masking bug by ~0.1.
const TOLERANCE = 1e-4;
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

let browser: Browser;
let page: Page;
let server: Server;
let base: string;

beforeAll(async () => {
  ({ url: base, server } = await serveFolders({ '/': dist, '/fixtures/': VIT_FIXTURES }));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-gpu-sandbox'],
  });
  page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/kernel-check.html`);
  await page.waitForFunction(() => (globalThis as { moxiKernels?: unknown }).moxiKernels !== undefined);
  expect(errors).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  server?.close();
});

function predictInBrowser(request: PredictRequest): Promise<PredictResponse> {
  return page.evaluate((r) => (globalThis as unknown as { moxiKernels: KernelCheck }).moxiKernels.predict(r), request);
}

async function predictInNode(folderName: string, mask: PredictRequest['mask']): Promise<Float32Array> {
  const folder = vitGoldenFolders().find((f) => f.name === folderName)!;
  const gpu = await acquireDevice();
  const engine = new GpuEngine(gpu);
  const model = prepareModel(goldenModelFiles(folder)).instantiate(engine);
  const result = await model.forward(goldenInput(folder, folder.cases[0]!), mask ? { mask } : {});
  model.destroy();
  engine.destroy();
  gpu.destroy();
  return result.logits;
}

function maxDiff(a: number[][], b: Float32Array): number {
  return a.flat().reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

describe('ViT forward in headless Chromium (WebGPU)', () => {
  const cases = ['small-timm', 'small-hf'].flatMap((name) => {
    const folder = vitGoldenFolders().find((f) => f.name === name)!;
    return folder.cases.filter((c) => ['full', 'token-ragged', 'attention-k1'].includes(c.name)).map((c) => ({ label: `${name} ${c.name}`, name, c }));
  });

  it.each(cases)('$label matches Node and PyTorch', async ({ name, c }) => {
    const folder = vitGoldenFolders().find((f) => f.name === name)!;
    const response = await predictInBrowser({ model: `/fixtures/${name}/`, input: `/fixtures/${name}/input.npy`, ...(c.mask ? { mask: c.mask } : {}) });
    expect(response.adapter.backend).toBe('browser');
    const node = await predictInNode(name, c.mask ?? undefined);
    expect(maxDiff(response.logits, node)).toBeLessThan(TOLERANCE);
    expect(maxDiff(response.logits, goldenLogits(folder, c).data)).toBeLessThan(TOLERANCE);
  });

  it('decodes and preprocesses the demo PNG like Node', async () => {
    const response = await predictInBrowser({ model: 'examples/tiny-vit/', input: 'examples/images/demo.png' });
    const prepared = prepareModel(readModelFiles(`${examples}tiny-vit`));
    const input = readInputFile(`${examples}images/demo.png`, prepared.info.inputShape, prepared.preprocessing);
    const gpu = await acquireDevice();
    const engine = new GpuEngine(gpu);
    const model = prepared.instantiate(engine);
    const node = (await model.forward(input)).logits;
    model.destroy();
    engine.destroy();
    gpu.destroy();
    expect(maxDiff(response.logits, node)).toBeLessThan(TOLERANCE);
  });
});
