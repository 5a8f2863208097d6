import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineKernel, kernelConst, workgroupSize, type KernelSpec } from '../../src/gpu/kernel-spec.ts';
import { workgroupGrid } from '../../src/gpu/launch-grid.ts';
import * as shaders from '../../src/shaders/index.ts';
import { testEngine } from '../helpers/gpu.ts';

// A kernel's launch geometry is said once, in its WGSL: @workgroup_size and what one
// invocation covers (ROWS, COLS, ...). Ops give invocation counts and the engine covers
// them with workgroups (workgroupGrid). These tests hold both halves: every kernel's size
// is read, the flat kernels fold gid.y by that same size, and no TypeScript source
// restates a size, as the grid2d(engine, n, 256) calls and WORKGROUP constants once did.

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function isKernelSpec(value: unknown): value is KernelSpec {
  return typeof value === 'object' && value !== null && 'code' in value && 'bindings' in value && 'workgroupSize' in value;
}

/** Every kernel the package builds: the exported specs, fused attention at two head sizes, and the f16 variants. */
function everyKernel(): KernelSpec[] {
  const specs = [...Object.values(shaders).filter(isKernelSpec), shaders.fusedAttentionKernel(64), shaders.fusedAttentionKernel(4)];
  const half = specs.filter((k) => k.code.includes('alias Float = f32;')).map((k) => shaders.typedKernel(k, 'f16'));
  return [...specs, ...half];
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** src/-relative path and text of every TypeScript file but the two that turn invocations into workgroups. */
function launchingSources(): Array<{ file: string; text: string }> {
  return sourceFiles(SRC)
    .map((path) => ({ file: relative(SRC, path).split('\\').join('/'), text: readFileSync(path, 'utf8') }))
    .filter(({ file }) => file !== 'gpu/launch-grid.ts' && file !== 'gpu/engine.ts');
}

describe('kernels say their launch geometry once', () => {
  it('every kernel has a workgroup size read from its WGSL', () => {
    const kernels = everyKernel();
    expect(kernels.length).toBeGreaterThan(25);
    for (const k of kernels) {
      const size = workgroupSize(k);
      expect(size.every((d) => Number.isInteger(d) && d >= 1), k.name).toBe(true);
    }
    expect(workgroupSize(shaders.matmulKernel)).toEqual([8, 8, 1]);
    expect(workgroupSize(shaders.scaleAddKernel)).toEqual([256, 1, 1]);
    expect(kernelConst(shaders.matmulKernel, 'ROWS')).toBe(16);
    expect(kernelConst(shaders.matmulKernel, 'COLS')).toBe(8);
  });

  it('a kernel that folds gid.y into a flat index folds by its own one-dimensional workgroup size', () => {
    const flat = everyKernel().filter((k) => k.code.includes('num_workgroups'));
    expect(flat.length).toBeGreaterThan(15);
    for (const k of flat) {
      const groups = /@builtin\(num_workgroups\)\s*(\w+)/.exec(k.code)![1]!;
      const folds = [...k.code.matchAll(new RegExp(String.raw`\b${groups}\.x\s*\*\s*(\w+)`, 'g'))].map((m) => m[1]!);
      expect(folds.length, k.name).toBeGreaterThan(0);
      for (const by of folds) expect(k.consts[by], `${k.name} folds by ${by}; fold by the const that sizes its workgroup`).toBe(workgroupSize(k)[0]);
      expect(workgroupSize(k).slice(1), k.name).toEqual([1, 1]);
    }
  });

  it('no TypeScript source computes workgroups or restates a size: dispatches give invocations without literals', () => {
    const offences: string[] = [];
    for (const { file, text } of launchingSources()) {
      text.split('\n').forEach((line, i) => {
        const at = `${file}:${i + 1}: ${line.trim()}`;
        if (/\bgrid2d\b|\bworkgroups\s*:|dispatchWorkgroups/.test(line)) offences.push(`${at} (workgroups outside the engine)`);
        const invocations = /\binvocations\s*:\s*(.*)$/.exec(line)?.[1];
        if (invocations !== undefined && /(?<![\w.])\d+(?![\w.])/.test(invocations)) offences.push(`${at} (a literal in invocations)`);
      });
      if (file.startsWith('ops/') || file.startsWith('models/')) {
        for (const m of text.matchAll(/^(?:export\s+)?const\s+(\w*(?:ROWS|COLS|COLUMNS|WORKGROUP|TILE)\w*)\s*=\s*\d/gm)) offences.push(`${file}: ${m[1]} is a launch size written in TypeScript; read it from the kernel (kernelConst)`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('the check above sees what it forbids', () => {
    const line = '    workgroups: grid2d(engine, out.size, 256),';
    expect(/\bgrid2d\b|\bworkgroups\s*:/.test(line)).toBe(true);
    expect(/(?<![\w.])\d+(?![\w.])/.test('Math.ceil(n / 64)')).toBe(true);
    expect(/(?<![\w.])\d+(?![\w.])/.test('[Math.ceil(g.N / COLUMNS_PER_INVOCATION), o.B * o.H, x2]')).toBe(false);
  });
});

describe('workgroupGrid: invocations to workgroups', () => {
  it('covers a flat range with whole workgroups, folding into y past the per-dimension limit', () => {
    expect(workgroupGrid('k', 1000, [256, 1, 1], 65_535)).toEqual([4, 1, 1]);
    expect(workgroupGrid('k', 65_535 * 256, [256, 1, 1], 65_535)).toEqual([65_535, 1, 1]);
    // One workgroup past the limit: two rows of 32,768, the last invocations idle.
    expect(workgroupGrid('k', 65_535 * 256 + 1, [256, 1, 1], 65_535)).toEqual([32_768, 2, 1]);
    expect(workgroupGrid('k', 0, [64, 1, 1], 65_535)).toEqual([0, 1, 1]);
  });

  it('covers counts per dimension, unwritten ones 1', () => {
    expect(workgroupGrid('k', [100, 17, 3], [8, 8, 1], 65_535)).toEqual([13, 3, 3]);
    expect(workgroupGrid('k', [197, 24], [64, 1, 1], 65_535)).toEqual([4, 24, 1]);
    expect(workgroupGrid('k', [5], [8, 8, 1], 65_535)).toEqual([1, 1, 1]);
  });

  it('refuses a flat range for a two-dimensional workgroup', () => {
    expect(() => workgroupGrid('matmul', 100, [8, 8, 1], 65_535)).toThrow('matmul: a flat range of invocations needs a one-dimensional workgroup, not 8x8x1; give a count per dimension');
  });

  it('a dispatch runs exactly the invocations asked for, with a workgroup size an override sets per pipeline', async () => {
    const engine = await testEngine();
    const kernel = defineKernel(
      'override-sized',
      [
        'struct Params {\n  n: u32,\n}',
        '@group(0) @binding(0) var<uniform> p: Params;',
        '@group(0) @binding(1) var<storage, read_write> out: array<u32>;',
        'override WG: u32 = 64u;',
        '@compute @workgroup_size(WG)',
        'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {',
        '  let i = gid.x + gid.y * groups.x * WG;',
        '  if (i < p.n) { out[i] = i + 1u; }',
        '}',
      ].join('\n'),
    );
    for (const WG of [32, 64]) {
      const out = engine.empty([300]);
      engine.clear(out);
      engine.dispatch({ kernel, constants: { WG }, params: { n: 250 }, buffers: { out }, invocations: 250 });
      const values = new Uint32Array((await engine.read(out)).buffer);
      expect(Array.from(values.subarray(0, 250)), `WG ${WG}`).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
      expect(values.subarray(250).every((v) => v === 0), `WG ${WG}`).toBe(true);
      engine.release(out);
    }
  });
});
