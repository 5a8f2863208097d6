// Builds a workspace library for publishing, run in the package's folder:
//   node ../../scripts/build-library.mjs src/index.ts src/node.ts
// dist/ then holds ESM JavaScript (one file per entry, shared code in dist/chunks, WGSL
// inlined as strings, so no consumer needs a loader or bundler plugin) and .d.ts files
// mirroring src/. Dependencies stay imports, resolved from the consumer's node_modules.
// Inside the monorepo nothing reads dist/: package.json's exports point at src/, and
// publishConfig.exports (which pnpm pack and publish put in the tarball) at dist/.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const entries = process.argv.slice(2);
if (entries.length === 0) {
  console.error('usage: node build-library.mjs ENTRY.ts [ENTRY.ts ...] (run in the package folder)');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const dependencies = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies });

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // A dependency's subpath (@moxi/kernels/node) is external too; node: built-ins only appear in Node entries.
  external: [...dependencies, ...dependencies.map((d) => `${d}/*`), 'node:*'],
  loader: { '.wgsl': 'text' },
  sourcemap: true,
  logLevel: 'warning',
});

// Declarations: the package's tsconfig with emit switched on, for the entries and what they import.
const tsconfig = '.tsconfig.build.json';
writeFileSync(
  tsconfig,
  JSON.stringify({
    extends: './tsconfig.json',
    compilerOptions: { noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: 'dist', rootDir: 'src', declarationMap: false },
    include: [],
    files: entries,
  }),
);
try {
  // tsc is on PATH when pnpm runs the package's scripts (the workspace's TypeScript).
  execFileSync('tsc', ['-p', tsconfig], { stdio: 'inherit' });
} finally {
  rmSync(tsconfig, { force: true });
}

// The sources import './x.ts' (Node-style ESM with TypeScript extensions); consumers resolve './x.js' to x.d.ts.
const declarations = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? declarations(path) : path.endsWith('.d.ts') ? [path] : [];
  });
// The declarations name WebGPU's types (GPUDevice ...) as globals and reference no package for
// them: TypeScript 6 and later declare WebGPU in lib.dom, and a `/// <reference types=
// "@webgpu/types" />` here would clash with it (TS2300 duplicate identifiers in every consumer
// that checks its libraries). Consumers on TypeScript 5 add "@webgpu/types" to their "types".
for (const file of declarations('dist')) {
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1$2.js$3');
  if (rewritten !== text) writeFileSync(file, rewritten);
}
