import { describe, expect, it } from 'vitest';
import { defineKernel } from '../../src/gpu/kernel-spec.ts';
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
    const base = { kernel: softmaxKernel, params: { rows: 1, N: 2 }, workgroups: [1] as const };
    expect(thrownBy(() => engine.dispatch({ ...base, buffers: { x, out, y: x } }), Error).message).toBe('softmax: no storage binding named y');
    expect(thrownBy(() => engine.dispatch({ ...base, buffers: { x } }), Error).message).toBe('softmax: binding out not given (undefined marks one switched off)');
    engine.dispatch({ ...base, buffers: { x, out } });
    const values = await engine.read(out);
    expect(values[1]! / values[0]!).toBeCloseTo(Math.E, 5);
    engine.release(x, out);
  });
});
