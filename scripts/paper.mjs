#!/usr/bin/env node
// `pnpm paper`: every figure and table of the paper that moxi can redo, on the bundled
// SET-SUM models, into one folder (docs/paper.md says which figure is which and what it shows).
// Each step is a moxi command, printed before it runs; the evaluations resume, so a stopped
// run goes on where it stopped when the same command is given again.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'apps/cli/dist/moxi.js');

const HELP = `Usage: pnpm paper [--out DIR] [--images N] [--token-model DIR]

Runs the paper's analogs on the bundled SET-SUM models into DIR (default: paper/):
  data/                 SET-SUM test images (moxi setsum generate, seed 0)
  runs/fig3-<model>/    moxi evaluate + report per model (Fig. 3/8/9; the token-level ViT
                        also with the corruptions and PGD: Fig. 13-16; selection-*.png: Fig. 11/12)
  fig10/                MoXI with attention masking from block k = 0, middle, last, compared
  fig17/                the three models compared (the paper varies the class count instead)
  table1.md             runtime per image of each method and model (Table 1)
  setsum-<model>.md     moxi setsum evaluate: minimal-set share of each method (App. A)
  README.md             the index of the above

--images N scales every run (default 6: the token-level ViT explains N images, the two
4-player models 5 N, Fig. 10 uses ceil(N / 2) per k); the defaults fit in about an hour on
two CPU cores with the software Vulkan driver.`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      out: { type: 'string', default: 'paper' },
      images: { type: 'string', default: '6' },
      'token-model': { type: 'string', default: 'models/setsum-vit-patch7' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  fail(`${error.message} (pnpm paper --help lists the options)`);
}
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const images = Number(values.images);
if (!Number.isInteger(images) || images < 1) fail(`--images: ${values.images} is not a positive whole number`);
if (!existsSync(cli)) fail(`${relative(process.cwd(), cli)} is missing: build moxi first (pnpm build)`);
const out = resolve(values.out);
const tokenModel = resolve(values['token-model']);
if (!existsSync(join(tokenModel, 'config.json'))) fail(`--token-model: ${tokenModel} has no config.json (the token-level SET-SUM ViT is models/setsum-vit-patch7)`);

/** The three bundled architectures: the token-level ViT first (the figures' main model). */
const MODELS = [
  { name: 'token-vit', path: tokenModel, images, perturb: 'gaussian-noise,fog,pgd', methods: 'moxi,shapley-self,gradcam,rollout,random' },
  { name: 'cell-vit', path: join(repo, 'models/setsum-vit'), images: 5 * images, perturb: '', methods: 'moxi,shapley-self,shapley-full,shapley-sampling,gradcam,rollout,random' },
  { name: 'resnet18', path: join(repo, 'models/setsum-resnet18'), images: 5 * images, perturb: '', methods: 'moxi,shapley-self,shapley-full,shapley-sampling,gradcam,random' },
];
const depth = JSON.parse(readFileSync(join(tokenModel, 'config.json'), 'utf8')).model_args?.depth ?? 12;
const LAYERS = [...new Set([0, Math.floor(depth / 2), depth - 1])];

try {
  mkdirSync(out, { recursive: true });
} catch (error) {
  fail(`--out: cannot create ${out} (${error.code ?? error.message}); choose another folder`);
}
const started = Date.now();
const steps = [];
const data = join(out, 'data');
steps.push(['SET-SUM test images', ['setsum', 'generate', '--out', data, '--train', '1', '--test', '2000', '--seed', '0', '--layout', 'imagefolder'], () => existsSync(join(data, 'test'))]);
for (const m of MODELS) {
  const dir = join(out, 'runs', `fig3-${m.name}`);
  steps.push([`Fig. 3/8/9: ${m.name}`, ['evaluate', '--model', m.path, '--data', join(data, 'test'), '--images', String(m.images), '--methods', m.methods, ...(m.perturb ? ['--perturb', m.perturb] : []), '--out', dir]]);
  steps.push([`report ${m.name}`, ['evaluate', 'report', dir]]);
}
for (const k of LAYERS) {
  steps.push([`Fig. 10: attention masking from block ${k}`, ['evaluate', '--model', tokenModel, '--data', join(data, 'test'), '--images', String(Math.ceil(images / 2)), '--methods', 'moxi', '--mask-mode', 'attention', '--mask-from-layer', String(k), '--out', join(out, 'runs', `fig10-k${k}`)]]);
}
steps.push(['Fig. 10: compare', ['evaluate', 'compare', ...LAYERS.map((k) => join(out, 'runs', `fig10-k${k}`)), '--labels', LAYERS.map((k) => `k = ${k}`).join(','), '--out', join(out, 'fig10')]]);
steps.push(['Fig. 17 analog: the models compared', ['evaluate', 'compare', ...MODELS.map((m) => join(out, 'runs', `fig3-${m.name}`)), '--labels', MODELS.map((m) => m.name).join(','), '--out', join(out, 'fig17')]]);
for (const m of MODELS) {
  steps.push([`App. A: setsum evaluate ${m.name}`, ['setsum', 'evaluate', '--model', m.path, '--data', data, '--limit', String(50 * images), '--methods', 'moxi-insertion,moxi-deletion,shapley-self,shapley-full,shapley-sampling,gradcam', '--out', join(out, `setsum-${m.name}.md`)]]);
}

steps.forEach(([title, args, done], i) => {
  const elapsed = formatMinutes(Date.now() - started);
  if (done?.()) {
    process.stderr.write(`paper: [${i + 1}/${steps.length}] ${title}: already there\n`);
    return;
  }
  process.stderr.write(`paper: [${i + 1}/${steps.length}] ${title} (${elapsed} so far): moxi ${args.map(quote).join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) fail(`step ${i + 1} (${title}) failed with exit code ${r.status}; fix what it said and run pnpm paper again (finished evaluations are kept)`);
});

writeFileSync(join(out, 'table1.md'), table1());
writeFileSync(join(out, 'README.md'), index());
process.stderr.write(`paper: done in ${formatMinutes(Date.now() - started)}; index: ${join(out, 'README.md')}\n`);

/** Table 1: each method's seconds per image on each model, from the reports' runtime.csv. */
function table1() {
  const rows = MODELS.map((m) => ({ model: m.name, runtime: readCsv(join(out, 'runs', `fig3-${m.name}`, 'runtime.csv')) }));
  const lines = [
    '# Runtime per image (the paper\'s Table 1)',
    '',
    'Each image explained alone, curves not included; mean and median seconds per image, evaluations (coalitions, or passes for gradcam and rollout) and images per second.',
    `Measured by \`pnpm paper\` on this machine's adapter (see each run's summary.md): a software rasteriser's seconds are CPU seconds, not GPU timings.`,
    '',
    '| model | method | images | mean s / image | median s / image | evaluations / image | images / s |',
    '|---|---|--:|--:|--:|--:|--:|',
  ];
  for (const { model, runtime } of rows) {
    for (const r of runtime) lines.push(`| ${model} | ${r.method} | ${r.images} | ${Number(r.mean_seconds).toPrecision(3)} | ${Number(r.median_seconds).toPrecision(3)} | ${Number(r.evaluations_per_image).toFixed(0)} | ${r.images_per_second === '' ? '–' : Number(r.images_per_second).toPrecision(3)} |`);
  }
  return `${lines.join('\n')}\n`;
}

function index() {
  const run = (name) => `runs/fig3-${name}`;
  return `${[
    '# The paper\'s figures on the bundled SET-SUM models',
    '',
    `Made by \`pnpm paper --images ${images}\` (${formatMinutes(Date.now() - started)}). docs/paper.md reads them against the paper's claims.`,
    '',
    '| paper | here |',
    '|---|---|',
    ...MODELS.map((m) => `| Fig. 3/8/9: insertion and deletion curves (${m.name}) | ${run(m.name)}/curves.png, summary.md, curves.csv |`),
    `| Fig. 10: MoXI with attention masking from block k | fig10/compare.png, compare.md (k = ${LAYERS.join(', ')}) |`,
    `| Fig. 11: patches inserted until the prediction is right | ${run('token-vit')}/selection-insertion.png |`,
    `| Fig. 12: patches deleted until the prediction is wrong | ${run('token-vit')}/selection-deletion.png |`,
    `| Fig. 13-16: deletion under Gaussian noise, fog and PGD; PGD norm per patch | ${run('token-vit')}/curves.png (lower panels) |`,
    '| Fig. 17: several models (the paper: 10 to 1000 ImageNet classes) | fig17/compare.png, compare.md |',
    '| Table 1: runtime per image | table1.md |',
    ...MODELS.map((m) => `| App. A: minimal sufficient sets on SET-SUM (${m.name}) | setsum-${m.name}.md |`),
  ].join('\n')}\n`;
}

function readCsv(path) {
  const [header, ...rows] = readFileSync(path, 'utf8').trimEnd().split('\n');
  const keys = header.split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [keys[i], v])));
}

function formatMinutes(ms) {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

function quote(arg) {
  return /^[\w./=,:-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

function fail(message) {
  process.stderr.write(`paper: ${message}\n`);
  process.exit(2);
}

