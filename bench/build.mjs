// Bundles the TypeScript CLIs for Node 20, which cannot run .ts directly. dawn.node,
// onnxruntime-web and onnxruntime-node stay external: they locate native/wasm files next
// to their own modules.
import { build } from 'esbuild';
import { esbuildWgslLoader } from '@moxi/kernels/wgsl-loader';

await build({
  entryPoints: { peer: 'src/peer-cli.ts', 'vs-onnxruntime': 'src/vs-onnxruntime.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu', 'onnxruntime-web', 'onnxruntime-web/*', 'onnxruntime-node'],
  loader: esbuildWgslLoader,
  sourcemap: 'linked',
  logLevel: 'warning',
});
