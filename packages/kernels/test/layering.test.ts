/**
 * The layers of src/, read from the files' import lines: host-tensor.ts, io/, gpu/ and
 * shaders/ at the bottom, then ops/, then models/, then what serves tests and Node
 * (reference/, node/), then the entry points, then testing/ (its engine loads the Node
 * entry). A file imports from its own layer or below, never above, and no files import
 * each other in a circle.
 *
 * Type-only imports count: `import type` ties two files' designs together as much as a
 * value import does (a gradient pass that names the model class calling it is the same
 * knot whether or not the bundler erases the line), and an upward type import is how a
 * lower layer starts to depend on a higher one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Rank of each top-level folder or file of src/: imports may only go to a rank <= their own. */
const LAYERS: Record<string, number> = {
  'host-tensor.ts': 0,
  io: 0,
  gpu: 0,
  shaders: 0,
  ops: 1,
  models: 2,
  reference: 3,
  node: 3,
  'node.ts': 4,
  'index.ts': 4,
  testing: 5,
};

/** A static import or re-export (`import x from`, `import type { x } from`, `export * from`, `import './x'`), or `import('./x')`. */
const CLAUSE = String.raw`(?:type\s+)?(?:[\w$]+\s*,\s*)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\}|[\w$]+)`;
const STATIC_IMPORT = new RegExp(String.raw`^[ \t]*(?:import|export)\s+(?:${CLAUSE}\s+from\s*)?['"]([^'"]+)['"]`, 'gm');
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** src/-relative path of every file -> the src/-relative files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split('\\').join('/');
    // Block comments may quote code; line comments cannot match (the pattern is anchored at line start).
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const specifiers = [...text.matchAll(STATIC_IMPORT), ...text.matchAll(DYNAMIC_IMPORT)].map((m) => m[1]!);
    // Shader sources (.wgsl) are text, not modules; every other relative import must name a .ts file here.
    const targets = specifiers
      .filter((s) => s.startsWith('.') && !s.endsWith('.wgsl'))
      .map((s) => posix.normalize(posix.join(posix.dirname(from), s)));
    graph.set(from, [...new Set(targets)]);
  }
  return graph;
}

function layerOf(path: string): string {
  return path.split('/')[0]!;
}

/** One cycle per back edge of a depth-first walk, each as "a -> b -> a". */
function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

describe('layering of src/', () => {
  const graph = importGraph();

  it('reads the import lines it checks', () => {
    // Guards against the parser silently matching nothing.
    expect(graph.get('models/vit.ts')).toContain('ops/matmul.ts');
    expect(graph.get('models/vit.ts')).toContain('models/vit-config.ts');
    expect(graph.get('index.ts')).toContain('io/index.ts');
    expect(graph.get('shaders/index.ts')).toContain('gpu/kernel-spec.ts');
  });

  it('places every top-level folder and file in a layer', () => {
    const unplaced = [...new Set([...graph.keys()].map(layerOf))].filter((layer) => !(layer in LAYERS));
    expect(unplaced, 'add new top-level folders of src/ to LAYERS').toEqual([]);
  });

  it('imports only files that exist', () => {
    const missing = [...graph].flatMap(([from, targets]) => targets.filter((to) => !graph.has(to)).map((to) => `${from} -> ${to}`));
    expect(missing).toEqual([]);
  });

  it('imports nothing from a higher layer (gpu/ and io/ nothing from ops/, ops/ nothing from models/)', () => {
    const upward = [...graph].flatMap(([from, targets]) =>
      targets
        .filter((to) => (LAYERS[layerOf(to)] ?? Infinity) > (LAYERS[layerOf(from)] ?? -Infinity))
        .map((to) => `${from} -> ${to}`),
    );
    expect(upward).toEqual([]);
  });

  it('has no import cycles, type-only imports included', () => {
    expect(cycles(graph)).toEqual([]);
  });
});
