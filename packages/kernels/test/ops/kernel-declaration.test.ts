import { describe, expect, it } from 'vitest';
import { defineKernel, kernelConst, workgroupSize } from '../../src/gpu/kernel-spec.ts';
import { packParams } from '../../src/gpu/uniform-arena.ts';
import { matmulKernel, softmaxKernel } from '../../src/shaders/index.ts';
import { thrownBy } from '../../src/testing/thrown.ts';
import { testEngine } from '../helpers/gpu.ts';

// Each kernel's bindings and uniform fields are read from its WGSL (defineKernel) and ops
// fill them by name; every op's golden test runs through this path. These tests hold the
// reading itself and the refusals that keep a name from silently meaning another slot.
const header = (fields: string, bindings: string) => `struct Params {\n${fields}\n}\n${bindings}\n@compute @workgroup_size(1) fn main() {}`;

describe('kernels declared by their WGSL', () => {
  it('reads binding names and access in order, and the Params fields with their types', () => {
    expect(matmulKernel.bindingNames).toEqual(['p', 'A', 'B', 'bias', 'residual', 'C', 'B4']);
    expect(matmulKernel.bindings).toEqual(['uniform', 'read', 'read', 'read', 'read', 'write', 'read']);
    expect(softmaxKernel.params).toEqual([
      { name: 'rows', type: 'u32' },
      { name: 'N', type: 'u32' },
    ]);
    const k = defineKernel('k', header('  a: u32,\n  // a comment line\n  scale: f32, // and one after\n  shift: i32,', '@group(0) @binding(0) var<uniform> p: Params;\n@group(0) @binding(1) var<storage, read_write> out: array<f32>;'));
    expect(k.params.map((f) => `${f.name}:${f.type}`)).toEqual(['a:u32', 'scale:f32', 'shift:i32']);
    expect(k.bindings).toEqual(['uniform', 'write']);
  });

  it('refuses bindings out of order, a uniform after storage, and Params fields that are not 4-byte scalars', () => {
    const uniform = '@group(0) @binding(0) var<uniform> p: Params;';
    expect(() => defineKernel('gap', header('  a: u32,', `${uniform}\n@group(0) @binding(2) var<storage, read> x: array<f32>;`))).toThrow('gap: binding 2 follows binding 0; number them in order');
    expect(() => defineKernel('late', header('  a: u32,', '@group(0) @binding(0) var<storage, read> x: array<f32>;\n@group(0) @binding(1) var<uniform> p: Params;'))).toThrow('late: the uniform must be binding 0');
    expect(() => defineKernel('vec', header('  a: vec2<u32>,', uniform))).toThrow('vec: struct Params field "a: vec2<u32>," is not a u32, i32 or f32');
    expect(() => defineKernel('bare', '@group(0) @binding(0) var<uniform> p: Params;')).toThrow('bare: a uniform binding needs a struct Params, and the reverse');
  });

  it('packs Params by name in declaration order, 4 bytes a field, padded to 16; refuses a missing or unknown field', () => {
    const k = defineKernel('k', header('  a: u32,\n  scale: f32,\n  shift: i32,\n  n: u32,\n  m: u32,', '@group(0) @binding(0) var<uniform> p: Params;'));
    const bytes = packParams(k, { m: 9, shift: -3, n: 7, scale: 0.5, a: 2 ** 32 - 1 });
    expect(bytes.byteLength).toBe(32);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect([view.getUint32(0, true), view.getFloat32(4, true), view.getInt32(8, true), view.getUint32(12, true), view.getUint32(16, true)]).toEqual([2 ** 32 - 1, 0.5, -3, 7, 9]);
    expect(() => packParams(k, { a: 1, scale: 1, shift: 1, n: 1 })).toThrow('k: struct Params field m not given');
    expect(() => packParams(k, { a: 1, scale: 1, shift: 1, n: 1, m: 1, rows: 3 })).toThrow('k: struct Params has no field rows');
  });

  it('a dispatch binds by name: an unknown or missing binding is refused, naming it', async () => {
    const engine = await testEngine();
    const x = engine.upload(new Float32Array([1, 2]), [1, 2]);
    const out = engine.empty([1, 2]);
    const base = { kernel: softmaxKernel, params: { rows: 1, N: 2 }, invocations: 1 };
    expect(thrownBy(() => engine.dispatch({ ...base, buffers: { x, out, y: x } }), Error).message).toBe('softmax: no storage binding named y');
    expect(thrownBy(() => engine.dispatch({ ...base, buffers: { x } }), Error).message).toBe('softmax: binding out not given (undefined marks one switched off)');
    engine.dispatch({ ...base, buffers: { x, out } });
    const values = await engine.read(out);
    expect(values[1]! / values[0]!).toBeCloseTo(Math.E, 5);
    engine.release(x, out);
  });
});

describe('@workgroup_size read from the WGSL', () => {
  const kernel = (prelude: string, size: string) => defineKernel('k', `${prelude}\n@compute @workgroup_size(${size})\nfn main() {}`);

  it('reads one, two or three literal sizes, unwritten dimensions 1', () => {
    expect(kernel('', '256').workgroupSize).toEqual([256, 1, 1]);
    expect(kernel('', '8, 8').workgroupSize).toEqual([8, 8, 1]);
    expect(kernel('', '4u, 2i, 0x10u').workgroupSize).toEqual([4, 2, 16]);
    expect(kernel('', '64,').workgroupSize).toEqual([64, 1, 1]);
  });

  it('resolves a module-scope const, and keeps the integer consts for ops to read', () => {
    const k = kernel('const WORKGROUP_SIZE: u32 = 128u;\nconst ROWS = 16u;\nconst SCALE: f32 = 0.5;', 'WORKGROUP_SIZE');
    expect(k.workgroupSize).toEqual([128, 1, 1]);
    expect(k.consts).toEqual({ WORKGROUP_SIZE: 128, ROWS: 16 });
    expect(kernelConst(k, 'ROWS')).toBe(16);
    expect(() => kernelConst(k, 'SCALE')).toThrow('k: no module-scope const SCALE with an integer value');
  });

  it('an override size is resolved per pipeline: the constants given, else its default, else refused', () => {
    const withDefault = kernel('override TILE: u32 = 64u;', 'TILE, 2');
    expect(withDefault.workgroupSize).toEqual([{ override: 'TILE', default: 64 }, 2, 1]);
    expect(workgroupSize(withDefault)).toEqual([64, 2, 1]);
    expect(workgroupSize(withDefault, { TILE: 32 })).toEqual([32, 2, 1]);
    expect(() => workgroupSize(withDefault, { TILE: true })).toThrow('k: override TILE = true is not a workgroup size');
    const noDefault = kernel('override TILE: u32;', 'TILE');
    expect(() => workgroupSize(noDefault)).toThrow("k: override TILE sizes the workgroup and has no default; set it in the dispatch's constants");
    expect(workgroupSize(noDefault, { TILE: 16 })).toEqual([16, 1, 1]);
  });

  it('refuses a kernel without one, with two, or with a size it cannot read', () => {
    expect(() => defineKernel('none', '@compute fn main() {}')).toThrow('none: no @workgroup_size on its entry point; the engine sizes launches by it');
    expect(() => defineKernel('two', '@compute @workgroup_size(8) fn a() {}\n@compute @workgroup_size(8) fn b() {}')).toThrow('two: 2 @workgroup_size attributes; a kernel has one entry point');
    expect(() => defineKernel('k', '@compute @workgroup_size(8 * 8) fn main() {}')).toThrow('k: @workgroup_size argument "8 * 8" is not an integer literal, a module-scope const or an override');
    expect(() => defineKernel('k', '@compute @workgroup_size(LOCAL) fn main() { const LOCAL = 4u; }')).toThrow('argument "LOCAL" is not');
    expect(() => defineKernel('k', '@compute @workgroup_size(0) fn main() {}')).toThrow('k: @workgroup_size has a size of 0; sizes are at least 1');
    expect(() => defineKernel('k', '@compute @workgroup_size(1, 1, 1, 1) fn main() {}')).toThrow('k: @workgroup_size(1, 1, 1, 1) needs one to three sizes');
  });
});
