// Helpers of scripts/registry-check.sh: what a consumer's explanation of a bundled SET-SUM
// image must be, read from examples/setsum/labels.csv, and the Vite consumer in Chromium.
//   node scripts/registry-check.mjs node-output IMAGE FILE   checks explain.mjs's printout
//   node scripts/registry-check.mjs browser IMAGE DIST       serves DIST, reads #result in Chromium
// IMAGE is a file name in examples/setsum. The explanation must predict the image's label
// and, stopping when the prediction is restored, insert one cell of each distinct digit
// (their set sums to the label); which of two equal digits comes first is not checked.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../', import.meta.url));

function expected(image) {
  const rows = readFileSync(`${repo}examples/setsum/labels.csv`, 'utf8').trim().split('\n').slice(1);
  const row = rows.map((line) => line.split(',')).find(([file]) => file === image);
  if (!row) throw new Error(`${image} is not in examples/setsum/labels.csv`);
  const [, label, ...digits] = row;
  return { label: Number(label), digits: digits.map(Number) };
}

/** Throws unless { predicted, order, stopStep } is the right explanation of `image`. */
function check(image, { predicted, order, stopStep }) {
  const { label, digits } = expected(image);
  const problems = [];
  if (predicted !== label) problems.push(`predicted ${predicted}, the label is ${label}`);
  const distinct = [...new Set(digits)].sort((a, b) => a - b);
  const chosen = (order ?? []).slice(0, stopStep).map((cell) => digits[cell]);
  if (stopStep !== distinct.length || [...chosen].sort((a, b) => a - b).join() !== distinct.join())
    problems.push(`order ${JSON.stringify(order)} stop ${stopStep} inserts digits ${chosen}, want one cell of each of ${distinct}`);
  if (problems.length) throw new Error(problems.join('; '));
  return `predicted ${predicted} (label ${label}), order ${JSON.stringify(order)}, stop ${stopStep}`;
}

function nodeOutput(image, file) {
  const text = readFileSync(file, 'utf8');
  const predicted = /predicted (\d+)/.exec(text);
  const order = /MoXI order (\[[\d,]*\]), prediction restored at step (\d+)/.exec(text);
  if (!predicted || !order) throw new Error(`unexpected output:\n${text}`);
  return check(image, { predicted: Number(predicted[1]), order: JSON.parse(order[1]), stopStep: Number(order[2]) });
}

async function browser(image, dist) {
  // playwright-core and the static server are the web app's (devDependencies of apps/web).
  const { chromium } = createRequire(`${repo}apps/web/package.json`)('playwright-core');
  const { serveFolders } = await import(`${repo}apps/web/scripts/static-server.mjs`);
  const { url, server } = await serveFolders({ '/': dist });
  const chrome = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
  });
  try {
    const page = await chrome.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The library asks for a model folder's optional files (preprocessor_config.json) and
    // takes a 404 as their absence; any other failed request is an error.
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && !/\/(preprocessor_config\.json|favicon\.ico)$/.test(r.url()) && errors.push(`${r.status()} ${r.url()}`));
    await page.goto(`${url}/`);
    await page.waitForFunction(() => document.querySelector('#result')?.textContent?.startsWith('{'), undefined, { timeout: 180_000 });
    const shown = JSON.parse(await page.locator('#result').innerText());
    if (shown.error) throw new Error(`the page failed: ${shown.error}${errors.length ? `\n${errors.join('\n')}` : ''}`);
    const summary = check(image, shown);
    if (errors.length) throw new Error(`${summary}, but the page logged errors:\n${errors.join('\n')}`);
    return summary;
  } finally {
    await chrome.close();
    server.close();
  }
}

const [command, image, path] = process.argv.slice(2);
try {
  if (command === 'node-output') console.log(nodeOutput(image, path));
  else if (command === 'browser') console.log(await browser(image, path));
  else throw new Error(`usage: node registry-check.mjs node-output|browser IMAGE PATH (got ${command})`);
} catch (error) {
  console.error(`registry-check: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
