import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHODS, type MethodName } from '@moxi/attrib';
import { serveFolders } from '../scripts/static-server.mjs';

// The built explainer (dist/) in Debian's headless Chromium (WebGPU on SwiftShader), driven
// through its controls as a person would; what it shows must be what the CLI's --json
// says for the same model, image and method (the CLI runs on lavapipe through Dawn).
// Numbers are read back as displayed (4 decimals): TOLERANCE is the display's rounding
// (5e-5) plus the two float32 engines' difference (~1e-5 on these logits and rewards); a
// wrong mask, player or order moves them by 0.1 or more.
const TOLERANCE = 2e-4;
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const cliPath = fileURLToPath(new URL('../../cli/dist/moxi.js', import.meta.url));
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-gpu-sandbox'];

let browser: Browser;
let server: Server;
let base: string;

beforeAll(async () => {
  ({ url: base, server } = await serveFolders({ '/': dist }));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] });
});

afterAll(async () => {
  await browser?.close();
  server?.close();
});

function cli<T>(args: string[]): T {
  const run = spawnSync(process.execPath, [cliPath, ...args, '--json'], { encoding: 'utf8', cwd: repo });
  if (run.status !== 0) throw new Error(`moxi ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

interface CliExplanation {
  predicted: number;
  target: number;
  grid: [number, number];
  scores: number[];
  order?: number[];
  rewards?: number[];
  stopStep?: number;
  evaluations: number;
}

/** A page on the explainer, its page errors collected; resolves once the first explanation is shown. */
async function openPage(viewport = { width: 1200, height: 1400 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('favicon')) errors.push(m.text());
  });
  await page.goto(`${base}/`);
  await page.locator('#result-panel').waitFor({ state: 'visible', timeout: 120_000 });
  await idle(page);
  return { page, errors };
}

/** Waits until the page's current work is over (the controls are enabled again). */
async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.body.hasAttribute('aria-busy'), undefined, { timeout: 120_000 });
}

/** The text of an element a person can see; fails when it is hidden. */
async function seen(page: Page, selector: string): Promise<string> {
  const locator = page.locator(selector);
  expect(await locator.isVisible(), `${selector} is visible`).toBe(true);
  return (await locator.innerText()).trim();
}

async function errorShown(page: Page): Promise<string> {
  return seen(page, '#error');
}

async function numbers(page: Page, selector: string): Promise<number[]> {
  return (await seen(page, selector)).split(',').map(Number);
}

/** The score table as displayed: one row per patch. */
async function scoreTable(page: Page): Promise<Array<{ patch: number; score: number; rank: string }>> {
  expect(await page.locator('#scores').isVisible()).toBe(true);
  const rows = await page.locator('#scores tbody tr').allInnerTexts();
  return rows.map((row) => {
    const [patch, score, rank] = row.split('\t').map((c) => c.trim());
    return { patch: Number(patch), score: Number(score), rank: rank ?? '' };
  });
}

/** The top-5 table as displayed. */
async function topClasses(page: Page): Promise<Array<{ label: string; logit: number }>> {
  const rows = await page.locator('#top tbody tr').allInnerTexts();
  expect(rows).toHaveLength(5);
  return rows.map((row) => {
    const [label, , logit] = row.split('\t').map((c) => c.trim());
    return { label: label!, logit: Number(logit) };
  });
}

function expectClose(shown: number[], expected: number[], what: string): void {
  expect(expected.length, what).toBeGreaterThan(0);
  expect(shown, what).toHaveLength(expected.length);
  shown.forEach((v, i) => expect(Math.abs(v - expected[i]!), `${what}[${i}]: page ${v}, CLI ${expected[i]}`).toBeLessThan(TOLERANCE));
}

async function expectSameAsCli(page: Page, cliResult: CliExplanation): Promise<void> {
  expect(Number((await seen(page, '#result-predicted')).split(' ')[0])).toBe(cliResult.predicted);
  expect(Number((await seen(page, '#result-target')).split(' ')[0])).toBe(cliResult.target);
  expect(await seen(page, '#result-grid')).toBe(cliResult.grid.join('x'));
  const table = await scoreTable(page);
  expect(table.map((r) => r.patch)).toEqual(cliResult.scores.map((_, p) => p));
  expectClose(table.map((r) => r.score), cliResult.scores, 'scores');
  if (cliResult.order) {
    expect(await numbers(page, '#result-order')).toEqual(cliResult.order);
    expectClose(await numbers(page, '#result-rewards'), cliResult.rewards!, 'rewards');
    expect(table.map((r) => r.rank)).toEqual(cliResult.scores.map((_, p) => (cliResult.order!.includes(p) ? String(cliResult.order!.indexOf(p) + 1) : '')));
  }
  expect(await seen(page, '#result-work')).toMatch(new RegExp(`^${cliResult.evaluations} `));
}

async function box(page: Page, selector: string) {
  const b = await page.locator(selector).boundingBox();
  expect(b, `${selector} has a box`).not.toBeNull();
  return b!;
}

async function pickGalleryImage(page: Page, file: string): Promise<void> {
  await page.locator(`#gallery button[data-file="${file}"]`).click();
  await idle(page);
  expect(await seen(page, '#stage-caption')).toContain(file);
}

/** Form fields (ids, the CLI's flags) that keep the methods with thousands of passes short. */
const FEWER_SAMPLES: Partial<Record<MethodName, Record<string, string>>> = {
  lime: { samples: '200' },
  'rise-players': { samples: '200' },
  rise: { samples: '200' },
  smoothgrad: { samples: '8' },
  'integrated-gradients': { 'integration-steps': '8' },
};

async function explainWith(page: Page, method: MethodName, settings: Record<string, string> = {}): Promise<void> {
  await page.locator('#method').selectOption(method);
  for (const [id, value] of Object.entries(settings)) {
    const field = page.locator(`#${id}`);
    if ((await field.evaluate((e) => e.tagName)) === 'SELECT') await field.selectOption(value);
    else await field.fill(value);
  }
  await page.locator('#explain').click();
  await idle(page);
}

describe('the explainer page in headless Chromium', () => {
  it('opens on the trained SET-SUM ViT, explains the first gallery image at once, and lays the grid exactly over the picture', async () => {
    const { page, errors } = await openPage();
    expect(await page.locator('#model-select').inputValue()).toBe('models/setsum-vit/');
    expect(await page.locator('#gallery button').count()).toBe(16);
    expect(await seen(page, '#gallery button[data-file="000008.png"]')).toBe('9 1 / 3 9 → 13');
    expect(await seen(page, '#result-method')).toBe('moxi-insertion');
    const expected = cli<CliExplanation>(['explain', '--model', 'models/setsum-vit', '--input', 'examples/setsum/000008.png']);
    await expectSameAsCli(page, expected);
    // The picture, the heatmap and the patch buttons share one box; each button is one cell of it.
    const picture = await box(page, '#image-canvas');
    expect(await box(page, '#patch-grid')).toEqual(picture);
    expect(await box(page, '#heatmap-canvas')).toEqual(picture);
    expect(picture.width).toBeGreaterThanOrEqual(224);
    const cell = await box(page, '#patch-grid button[data-patch="3"]');
    expect(Math.abs(cell.x - (picture.x + picture.width / 2))).toBeLessThan(1.5);
    expect(Math.abs(cell.y - (picture.y + picture.height / 2))).toBeLessThan(1.5);
    expect(Math.abs(cell.width - picture.width / 2)).toBeLessThan(1.5);
    expect(await seen(page, '#timing')).toMatch(/^First explanation \d+\.\d\d s after the page started loading/);
    expect(await seen(page, '#gpu-status')).toContain('WebGPU on');
    expect(await seen(page, '#comparison button[data-method="moxi-insertion"]')).toContain('picks 3, 1, 2');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('runs every method through the form and shows what the CLI computes', async () => {
    const { page, errors } = await openPage();
    await pickGalleryImage(page, '000001.png');
    for (const method of METHODS) {
      // The many-sample methods take fewer samples here than by default (the same in both).
      const settings = FEWER_SAMPLES[method] ?? {};
      await explainWith(page, method, settings);
      expect(await page.locator('#error').isVisible(), `${method}: ${await page.locator('#error').textContent()}`).toBe(false);
      expect(await seen(page, '#result-method')).toBe(method);
      const flags = Object.entries(settings).flatMap(([id, value]) => [`--${id}`, value]);
      const expected = cli<CliExplanation>(['explain', '--model', 'models/setsum-vit', '--input', 'examples/setsum/000001.png', '--method', method, ...flags]);
      await expectSameAsCli(page, expected);
      expect(await seen(page, '#progress-text')).toMatch(new RegExp(`^${method}: done in \\d+\\.\\d\\d s$`));
      expect(await seen(page, '#legend')).not.toBe('');
    }
    // Side by side: one card per method, the last one selected; pressing another shows it.
    expect(await page.locator('#comparison button.card').count()).toBe(METHODS.length);
    await page.locator('#comparison button[data-method="shapley-exact"]').click();
    expect(await seen(page, '#result-method')).toBe('shapley-exact');
    expect(await page.locator('#comparison button[data-method="shapley-exact"]').getAttribute('aria-pressed')).toBe('true');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('takes the baselines\' own options from the form (RISE\'s masks and grid, the interaction order) and shows the groups a Shapley-Taylor index finds', async () => {
    const { page, errors } = await openPage();
    await pickGalleryImage(page, '000008.png');
    const input = ['--model', 'models/setsum-vit', '--input', 'examples/setsum/000008.png'];
    await explainWith(page, 'rise-players', { samples: '300', 'rise-cells': '3', seed: '5' });
    expect(await page.locator('#rise-probability').isVisible()).toBe(true);
    await expectSameAsCli(page, cli<CliExplanation>(['explain', ...input, '--method', 'rise-players', '--samples', '300', '--rise-cells', '3', '--seed', '5']));
    // Fields of other methods hide, and the RISE ones with them.
    await explainWith(page, 'shapley-taylor', { order: '2' });
    expect(await page.locator('#rise-cells').isVisible()).toBe(false);
    const taylor = cli<CliExplanation & { groups: Array<{ players: number[]; value: number }> }>(['explain', ...input, '--method', 'shapley-taylor', '--order', '2']);
    await expectSameAsCli(page, taylor);
    const strongest = [...taylor.groups].sort((x, y) => Math.abs(y.value) - Math.abs(x.value)).slice(0, 6);
    expect(await seen(page, '#result-groups')).toBe(strongest.map((g) => `{${g.players.join(', ')}}: ${g.value.toFixed(4)}`).join('; '));
    // A method without groups hides the row again.
    await explainWith(page, 'chefer');
    expect(await page.locator('#groups-row').isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('steps through a full MoXI ranking with the slider: patches, top class, probability and reward per step', async () => {
    const { page, errors } = await openPage();
    await explainWith(page, 'moxi-deletion', { stop: 'full' });
    const expected = cli<CliExplanation>(['explain', '--model', 'models/setsum-vit', '--input', 'examples/setsum/000008.png', '--method', 'moxi-deletion', '--stop', 'full']);
    await expectSameAsCli(page, expected);
    // The opacity control: at 0 the cells are clear, at 1 opaque (read in a cell's lower half, below the badge).
    const cellAlpha = () =>
      page.locator('#heatmap-canvas').evaluate((canvas: HTMLCanvasElement) => canvas.getContext('2d')!.getImageData(canvas.width * 0.25, canvas.height * 0.4, 1, 1).data[3]!);
    await page.locator('#opacity').fill('0');
    expect(await cellAlpha()).toBe(0);
    await page.locator('#opacity').fill('1');
    expect(await cellAlpha()).toBe(255);
    await page.locator('#opacity').fill('0.55');
    const slider = page.locator('#step-slider');
    expect(await slider.getAttribute('max')).toBe('4');
    await slider.focus();
    await page.keyboard.press('Home');
    for (let t = 1; t <= 4; t++) {
      expect(await seen(page, '#step-output')).toBe(`${t} of 4`);
      const removed = expected.order!.slice(0, t);
      const shown = [0, 1, 2, 3].filter((p) => !removed.includes(p));
      expect(await seen(page, '#step-shown')).toBe(shown.length ? shown.join(', ') : 'none');
      expect(Math.abs(Number(await seen(page, '#step-reward')) - expected.rewards![t - 1]!)).toBeLessThan(TOLERANCE);
      // The step's top class and probability: the CLI's prediction on that coalition.
      const logits = cli<{ logits: number[][] }>(['predict', '--model', 'models/setsum-vit', '--input', 'examples/setsum/000008.png', '--keep', shown.join(',')]).logits[0]!;
      const top = logits.indexOf(Math.max(...logits));
      expect(Number((await seen(page, '#step-top')).split(' ')[0])).toBe(top);
      const z = Math.max(...logits);
      const p = Math.exp(logits[expected.target]! - z) / logits.reduce((s, v) => s + Math.exp(v - z), 0);
      expect(Math.abs(Number(await seen(page, '#step-probability')) - p)).toBeLessThan(TOLERANCE);
      // The stage darkens the removed patches: the centre of a removed cell is darker than a shown one's.
      if (shown.length > 0) {
        const [dark, light] = await page.locator('#heatmap-canvas').evaluate(
          (canvas: HTMLCanvasElement, [removedCell, shownCell]) => {
            const ctx = canvas.getContext('2d')!;
            const alphaAt = (cell: number) => ctx.getImageData(((cell % 2) + 0.5) * (canvas.width / 2), (Math.floor(cell / 2) + 0.75) * (canvas.height / 2), 1, 1).data[3]!;
            return [alphaAt(removedCell!), alphaAt(shownCell!)];
          },
          [removed[0]!, shown[0]!],
        );
        expect(dark!).toBeGreaterThan(light! + 40);
      }
      if (t < 4) await page.keyboard.press('ArrowRight');
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('toggles patches with the mouse and the keyboard; the prediction follows token, attention and pixel masking', async () => {
    const { page, errors } = await openPage();
    const predict = (model: string, keep: number[], extra: string[] = []) =>
      cli<{ logits: number[][] }>(['predict', '--model', model, '--input', 'examples/setsum/000008.png', '--keep', keep.join(','), ...extra]).logits[0]!;
    const expectTop = async (logits: number[]) => {
      const top5 = logits.map((_, c) => c).sort((a, b) => logits[b]! - logits[a]!).slice(0, 5);
      const shown = await topClasses(page);
      expect(shown.map((r) => Number(r.label.split(' ')[0]))).toEqual(top5);
      expectClose(shown.map((r) => r.logit), top5.map((c) => logits[c]!), 'logits');
    };
    await page.locator('#patch-grid button[data-patch="0"]').click();
    await idle(page);
    expect(await page.locator('#patch-grid button[data-patch="0"]').getAttribute('aria-pressed')).toBe('true');
    expect(await seen(page, '#mask-status')).toMatch(/^1 of 4 patches hidden \(token removal\)/);
    await expectTop(predict('models/setsum-vit', [1, 2, 3]));
    // Keyboard: arrow to the next patch, Space presses it.
    await page.locator('#patch-grid button[data-patch="0"]').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space');
    await idle(page);
    expect(await page.locator('#patch-grid button[data-patch="1"]').getAttribute('aria-pressed')).toBe('true');
    await expectTop(predict('models/setsum-vit', [2, 3]));
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await idle(page);
    expect(await page.locator('#patch-grid button[data-patch="3"]').getAttribute('aria-pressed')).toBe('true');
    await expectTop(predict('models/setsum-vit', [2]));
    // Attention masking from block 1: the same patches stay hidden.
    await page.locator('#mask-mode').selectOption('attention');
    await idle(page);
    expect(await seen(page, '#mask-from-layer-field')).toContain('from block');
    await page.locator('#mask-from-layer').fill('1');
    await page.locator('#mask-from-layer').dispatchEvent('change');
    await idle(page);
    expect(await seen(page, '#mask-status')).toMatch(/^3 of 4 patches hidden \(attention mask from block 1\)/);
    await expectTop(predict('models/setsum-vit', [2], ['--mask-mode', 'attention', '--mask-from-layer', '1']));
    await page.locator('#patch-grid button[data-patch="3"]').click();
    await idle(page);
    expect(await seen(page, '#mask-status')).toMatch(/^2 of 4 patches hidden \(attention mask from block 1\)/);
    await expectTop(predict('models/setsum-vit', [2, 3], ['--mask-mode', 'attention', '--mask-from-layer', '1']));
    // The CNN hides pixels; its masking choice is pixel only.
    await page.locator('#model-select').selectOption('models/setsum-resnet18/');
    await idle(page);
    expect(await page.locator('#mask-mode option').allTextContents()).toEqual(['pixel (cells set to 0)']);
    await page.locator('#patch-grid button[data-patch="1"]').click();
    await idle(page);
    await expectTop(predict('models/setsum-resnet18', [0, 2, 3], ['--grid', '2']));
    await page.locator('#show-all').click();
    await idle(page);
    expect(await seen(page, '#mask-status')).toMatch(/^0 of 4 patches hidden/);
    await expectTop(cli<{ logits: number[][] }>(['predict', '--model', 'models/setsum-resnet18', '--input', 'examples/setsum/000008.png']).logits[0]!);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('takes an uploaded PNG (file picker and drop) and a model folder from disk', async () => {
    const { page, errors } = await openPage();
    await page.locator('#image-file').setInputFiles(`${repo}examples/setsum/000003.png`);
    await idle(page);
    expect(await seen(page, '#stage-caption')).toContain('000003.png');
    expect(await page.locator('#result-panel').isVisible()).toBe(false);
    await explainWith(page, 'moxi-insertion');
    await expectSameAsCli(page, cli<CliExplanation>(['explain', '--model', 'models/setsum-vit', '--input', 'examples/setsum/000003.png']));
    // Drop: a file dragged onto the drop zone.
    const bytes = [...readFileSync(`${repo}examples/setsum/000005.png`)];
    const transfer = await page.evaluateHandle((data) => {
      const t = new DataTransfer();
      t.items.add(new File([new Uint8Array(data)], '000005.png', { type: 'image/png' }));
      return t;
    }, bytes);
    await page.locator('#drop-zone').dispatchEvent('drop', { dataTransfer: transfer });
    await idle(page);
    expect(await seen(page, '#stage-caption')).toContain('000005.png');
    // Paste: Ctrl+V with an image on the clipboard reaches the page as a paste event.
    const pasted = await page.evaluateHandle((data) => {
      const t = new DataTransfer();
      t.items.add(new File([new Uint8Array(data)], '000004.png', { type: 'image/png' }));
      return t;
    }, [...readFileSync(`${repo}examples/setsum/000004.png`)]);
    await page.evaluate((clipboardData) => document.dispatchEvent(new ClipboardEvent('paste', { clipboardData, bubbles: true })), pasted);
    await idle(page);
    expect(await seen(page, '#stage-caption')).toContain('000004.png');
    await topClasses(page).then((rows) => expect(Number(rows[0]!.label.split(' ')[0])).toBe(cli<CliExplanation>(['explain', '--model', 'models/setsum-vit', '--input', 'examples/setsum/000004.png']).predicted));
    await page.locator('#drop-zone').dispatchEvent('drop', { dataTransfer: transfer });
    await idle(page);
    await explainWith(page, 'shapley-exact');
    await expectSameAsCli(page, cli<CliExplanation>(['explain', '--model', 'models/setsum-vit', '--input', 'examples/setsum/000005.png', '--method', 'shapley-exact']));
    // A model folder picked from disk: the token-level ViT, 8x8 players.
    await page.locator('summary').filter({ hasText: 'Use another model' }).click();
    await page.locator('#model-folder').setInputFiles(`${repo}models/setsum-vit-patch7`);
    await idle(page);
    expect(await seen(page, '#model-info')).toMatch(/^setsum-vit-patch7: .*8x8 tokens/);
    expect(await page.locator('#patch-grid button').count()).toBe(64);
    await explainWith(page, 'moxi-insertion');
    await expectSameAsCli(page, cli<CliExplanation>(['explain', '--model', 'models/setsum-vit-patch7', '--input', 'examples/setsum/000005.png']));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('after a model folder that fails to load, says no model is open, runs nothing on the old model, and opens a bundled one again', async () => {
    // The bundled ViT's config.json beside the first half of its model.safetensors.
    const temp = mkdtempSync(join(tmpdir(), 'moxi-web-'));
    const broken = join(temp, 'broken-vit');
    mkdirSync(broken);
    copyFileSync(`${repo}models/setsum-vit/config.json`, join(broken, 'config.json'));
    const weights = readFileSync(`${repo}models/setsum-vit/model.safetensors`);
    writeFileSync(join(broken, 'model.safetensors'), weights.subarray(0, weights.length >> 1));
    const noModel = "No model is loaded: choose a bundled model, or open another model's folder or URL.";
    try {
      const { page, errors } = await openPage();
      const before = { scores: await scoreTable(page), order: await numbers(page, '#result-order'), rewards: await numbers(page, '#result-rewards') };
      await page.locator('summary').filter({ hasText: 'Use another model' }).click();
      await page.locator('#model-folder').setInputFiles(broken);
      await idle(page);
      // The model line says what failed, naming the file; the chooser shows no model chosen.
      const line = await seen(page, '#model-info');
      expect(line).toMatch(/^No model is loaded: broken-vit could not be opened\. broken-vit\/model\.safetensors: .*truncated/);
      expect(line).not.toMatch(/loading/i);
      expect(await errorShown(page)).toContain('broken-vit/model.safetensors');
      expect(await page.locator('#model-select').inputValue()).toBe('');
      expect(await page.locator('#result-panel').isVisible()).toBe(false);
      expect(await page.locator('#progress-row').isVisible()).toBe(false);
      expect(await page.locator('#top tbody tr').count()).toBe(0);
      // Explain and Compare all: refused in words; no explanation appears (the old model would give one).
      for (const button of ['#explain', '#explain-all']) {
        await page.locator(button).click();
        await idle(page);
        expect(await page.locator('#result-panel').isVisible(), `${button}: no explanation shown`).toBe(false);
        expect(await page.locator('#progress-row').isVisible(), `${button}: no explanation started`).toBe(false);
        expect(await page.locator('#comparison button').count(), button).toBe(0);
        expect(await errorShown(page), button).toBe(noModel);
      }
      // A patch press: refused in words, the patch stays shown, no prediction.
      await page.locator('#patch-grid button[data-patch="0"]').click();
      await idle(page);
      expect(await errorShown(page)).toBe(noModel);
      expect(await page.locator('#patch-grid button[data-patch="0"]').getAttribute('aria-pressed')).toBe('false');
      expect(await page.locator('#top tbody tr').count()).toBe(0);
      expect(await page.locator('#mask-status').innerText()).toBe('');
      // The bundled model chosen again: it opens, and explains as before.
      await page.locator('#model-select').selectOption('models/setsum-vit/');
      await idle(page);
      expect(await page.locator('#error').isVisible()).toBe(false);
      expect(await seen(page, '#model-info')).toMatch(/^setsum-vit: /);
      expect(await page.locator('#model-info').getAttribute('class')).not.toContain('failed');
      await topClasses(page);
      await explainWith(page, 'moxi-insertion');
      expect(await page.locator('#error').isVisible()).toBe(false);
      expect({ scores: await scoreTable(page), order: await numbers(page, '#result-order'), rewards: await numbers(page, '#result-rewards') }).toEqual(before);
      await page.locator('#patch-grid button[data-patch="0"]').click();
      await idle(page);
      expect(await seen(page, '#mask-status')).toMatch(/^1 of 4 patches hidden/);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it('shows every error in the page, clears stale results, and cancels long work', async () => {
    const { page, errors } = await openPage();
    // Not an image.
    await page.locator('#image-file').setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
    await idle(page);
    expect(await errorShown(page)).toBe('notes.png: is not an image the browser can decode (give a PNG or JPEG)');
    expect(await page.locator('#result-panel').isVisible()).toBe(false);
    await pickGalleryImage(page, '000002.png');
    expect(await page.locator('#error').isVisible()).toBe(false);
    // A player grid that does not tile the 2x2 tokens: refused, the field marked, no stale result.
    await explainWith(page, 'moxi-insertion');
    await page.locator('#grid').fill('3');
    await page.locator('#grid').dispatchEvent('change');
    await idle(page);
    expect(await errorShown(page)).toBe('Players per side (G x G): 3x3 groups do not tile the 2x2 token grid (choose a divisor of 2 and 2)');
    expect(await page.locator('#grid').getAttribute('aria-invalid')).toBe('true');
    await page.locator('#explain').click();
    await idle(page);
    expect(await errorShown(page)).toContain('3x3 groups do not tile');
    expect(await page.locator('#result-panel').isVisible()).toBe(false);
    await page.locator('#grid').fill('2');
    await page.locator('#grid').dispatchEvent('change');
    await idle(page);
    // A plan over the evaluation budget.
    await explainWith(page, 'shapley-exact', { 'max-evaluations': '8' });
    expect(await errorShown(page)).toBe('shapley-exact on 4 players plans 16 coalitions, over the budget of 8');
    // A field the page checks itself.
    await explainWith(page, 'moxi-insertion', { 'min-confidence': '2' });
    expect(await errorShown(page)).toBe('Minimum confidence: "2" is not a number in [0, 1]');
    expect(await page.locator('#min-confidence').getAttribute('aria-invalid')).toBe('true');
    await page.locator('#min-confidence').fill('0');
    // Rollout scores the token grid: a grid typed for it is refused, as the CLI refuses --grid
    // (one rule, attrib's option table), and a contrast without a target names the target field.
    await page.locator('#grid').fill('1');
    await page.locator('#grid').dispatchEvent('change');
    await idle(page);
    await explainWith(page, 'rollout');
    expect(await errorShown(page)).toBe('Players per side (G x G): applies to every method but rollout and chefer (they score the token grid), not to the method rollout; leave it out');
    expect(await page.locator('#grid').getAttribute('aria-invalid')).toBe('true');
    await page.locator('#grid').fill('2');
    await page.locator('#grid').dispatchEvent('change');
    await idle(page);
    await page.locator('#method').selectOption('moxi-insertion');
    await page.locator('#contrast').check();
    await page.locator('#explain').click();
    await idle(page);
    expect(await errorShown(page)).toBe('Contrast the target with the prediction (App. F): needs "Target class": the class to contrast with the prediction');
    await page.locator('#contrast').uncheck();
    // Cancel: a long sampling run stops, the controls come back, nothing stale is shown.
    await page.locator('#method').selectOption('shapley-sampling');
    await page.locator('#samples').fill('200000');
    await page.locator('#max-evaluations').fill('1048576');
    await page.locator('#explain').click();
    await page.waitForFunction(() => /of [\d,]+ coalitions/.test(document.getElementById('progress-text')!.textContent ?? ''));
    expect(await page.locator('#explain').isDisabled()).toBe(true);
    expect(await page.locator('#patch-grid button').first().getAttribute('aria-disabled')).toBe('true');
    await page.locator('#cancel').click();
    await idle(page);
    expect(await seen(page, '#progress-text')).toBe('cancelled');
    expect(await page.locator('#result-panel').isVisible()).toBe(false);
    expect(await page.locator('#explain').isDisabled()).toBe(false);
    expect(await page.locator('#cancel').isDisabled()).toBe(true);
    // A model URL that serves nothing.
    await page.locator('summary').filter({ hasText: 'Use another model' }).click();
    await page.locator('#model-url').fill(`${base}/no-such-model/`);
    await page.locator('#load-model-url').click();
    await idle(page);
    expect(await errorShown(page)).toBe(`${base}/no-such-model/config.json: could not be fetched; a timm or Hugging Face model folder holds config.json and model.safetensors (or its shards with model.safetensors.index.json)`);
    expect(await page.locator('#comparison button').count()).toBe(0);
    // Every failure above was shown in the page; none escaped as a page error.
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fits a 390 px wide phone screen', async () => {
    const { page, errors } = await openPage({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const picture = await box(page, '#image-canvas');
    expect(picture.x).toBeGreaterThanOrEqual(0);
    expect(picture.x + picture.width).toBeLessThanOrEqual(390);
    expect(await box(page, '#patch-grid')).toEqual(picture);
    for (const id of ['#explain', '#method', '#step-slider', '#reward-chart']) {
      const b = await box(page, id);
      expect(b.x + b.width, id).toBeLessThanOrEqual(390);
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('works offline once loaded: without a network a reload explains again and the other bundled models open', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/`);
      await page.locator('#result-panel').waitFor({ state: 'visible', timeout: 120_000 });
      // The service worker has stored the built folder once it is active.
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
      await context.setOffline(true);
      expect(await page.evaluate(() => fetch('index.html').then(() => 'fetched', () => 'failed'))).toBe('fetched');
      await page.reload();
      await page.locator('#result-panel').waitFor({ state: 'visible', timeout: 120_000 });
      await idle(page);
      await expectSameAsCli(page, cli<CliExplanation>(['explain', '--model', 'models/setsum-vit', '--input', 'examples/setsum/000008.png']));
      await page.locator('#model-select').selectOption('models/setsum-resnet18/');
      await idle(page);
      expect(await page.locator('#error').isVisible()).toBe(false);
      expect(await seen(page, '#model-info')).toMatch(/^setsum-resnet18: resnet18/);
      // Offline for real: a file the page never had cannot be fetched.
      expect(await page.evaluate(() => fetch('no-such-file.json').then((r) => r.status, () => 'failed'))).toBe('failed');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('tells a browser user without WebGPU which browsers and flag to use', async () => {
    // Chromium on Linux without --enable-unsafe-webgpu: navigator.gpu exists but gives no adapter, as on most Linux desktops today.
    const plain = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await plain.newPage();
      await page.goto(`${base}/`);
      await page.locator('#no-webgpu').waitFor({ state: 'visible', timeout: 60_000 });
      const notice = await page.locator('#no-webgpu').innerText();
      expect(notice).toContain('chrome://flags/#enable-unsafe-webgpu');
      expect(notice).toContain('Safari 26');
      expect(notice).not.toMatch(/vulkan driver|mesa|\bapt\b|backports/i);
      expect(await page.locator('#app').isVisible()).toBe(false);
    } finally {
      await plain.close();
    }
  });
});
