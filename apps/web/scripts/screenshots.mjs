// Screenshots of the explainer's main states for the README, taken from the built page
// (dist/) in Debian's headless Chromium: `pnpm --filter @moxi/web screenshots`.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serveFolders } from './static-server.mjs';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const out = fileURLToPath(new URL('../../../docs/images/', import.meta.url));
const ARGS = ['--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking', '--no-first-run'];
mkdirSync(out, { recursive: true });

const { url, server } = await serveFolders({ '/': dist });
const idle = (page) => page.waitForFunction(() => !document.body.hasAttribute('aria-busy'), undefined, { timeout: 300_000 });

async function opened(browser, viewport) {
  const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(`${url}/`);
  await page.locator('#result-panel').waitFor({ state: 'visible', timeout: 300_000 });
  await idle(page);
  return page;
}

async function shoot(page, name, selectors) {
  // Boxes are in viewport coordinates; a full-page clip is in page coordinates.
  const scroll = await page.evaluate(() => ({ x: window.scrollX, y: window.scrollY }));
  const boxes = (await Promise.all(selectors.map((s) => page.locator(s).boundingBox()))).map((b) => ({ ...b, x: b.x + scroll.x, y: b.y + scroll.y }));
  const x0 = Math.min(...boxes.map((b) => b.x)) - 12;
  const y0 = Math.min(...boxes.map((b) => b.y)) - 12;
  const x1 = Math.max(...boxes.map((b) => b.x + b.width)) + 12;
  const y1 = Math.max(...boxes.map((b) => b.y + b.height)) + 12;
  const path = `${out}${name}`;
  await page.screenshot({ path, fullPage: true, clip: { x: Math.max(0, x0), y: Math.max(0, y0), width: x1 - Math.max(0, x0), height: y1 - Math.max(0, y0) } });
  console.log(`wrote ${path}`);
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...ARGS, '--enable-unsafe-webgpu'] });
try {
  // 1. As it opens: the SET-SUM ViT, the gallery, MoXI on the first image.
  const page = await opened(browser, { width: 1100, height: 1000 });
  await shoot(page, 'web-explainer.png', ['header', '#model-panel', '#image-panel', '#view-panel']);
  // 2. A full MoXI deletion ranking, stepped back to its second step.
  await page.locator('#gallery button[data-file="000001.png"]').click();
  await idle(page);
  await page.locator('#method').selectOption('moxi-deletion');
  await page.locator('#stop').selectOption('full');
  await page.locator('#explain').click();
  await idle(page);
  await page.locator('#step-slider').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  await shoot(page, 'web-moxi-steps.png', ['#stage', '#legend', '#result-panel']);
  // 3. Every method on the same image, side by side.
  await page.locator('#explain-all').click();
  await idle(page);
  await shoot(page, 'web-compare.png', ['#compare-panel']);
  await page.close();
  // 4. A phone: 390 px wide.
  const phone = await opened(browser, { width: 390, height: 844 });
  await phone.locator('#view-heading').scrollIntoViewIfNeeded();
  await phone.evaluate(() => document.getElementById('view-heading').scrollIntoView({ block: 'start' }));
  await phone.screenshot({ path: `${out}web-phone.png` });
  console.log(`wrote ${out}web-phone.png`);
  await phone.close();
} finally {
  await browser.close();
}

// 5. A browser without WebGPU (Chromium on Linux without its flag).
const plain = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
try {
  const page = await plain.newPage({ viewport: { width: 900, height: 700 } });
  await page.goto(`${url}/`);
  await page.locator('#no-webgpu').waitFor({ state: 'visible', timeout: 60_000 });
  await shoot(page, 'web-no-webgpu.png', ['header', '#no-webgpu']);
} finally {
  await plain.close();
  server.close();
}
