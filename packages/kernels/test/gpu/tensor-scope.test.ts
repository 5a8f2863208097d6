import { describe, expect, it } from 'vitest';
import type { TensorScope } from '../../src/gpu/tensor-scope.ts';
import { prepareModel } from '../../src/models/load-model.ts';
import { scaleAdd } from '../../src/ops/scale-add.ts';
import { goldenInput, goldenModelFiles, resnetGoldenFolders, vitGoldenFolders } from '../../src/testing/index.ts';
import { testEngine } from '../helpers/gpu.ts';

// engine.scope frees what a callback made except what it returns; the models' forward
// passes hold their intermediates in scopes instead of releasing each by hand. Counted by
// the pool's buffers in use (handed out, not yet released).

describe('engine.scope', () => {
  it('frees the intermediates made inside it and keeps what it returns, a view included', async () => {
    const engine = await testEngine();
    const a = engine.upload(new Float32Array([1, 2, 3, 4]), [4]);
    const before = engine.pool.buffersInUse;
    const fiveA = engine.scope(() => {
      const twoA = scaleAdd(engine, a, a, 1, 1);
      const threeA = scaleAdd(engine, twoA, a, 1, 1);
      return scaleAdd(engine, threeA, twoA, 1, 1).view([2, 2]);
    });
    expect(engine.pool.buffersInUse).toBe(before + 1);
    expect(Array.from(await engine.read(fiveA))).toEqual([5, 10, 15, 20]);
    engine.release(fiveA, a);
    expect(engine.pool.buffersInUse).toBe(before - 1);
  });

  it('keeps tensors inside returned arrays and objects; what an inner scope returns the outer one owns', async () => {
    const engine = await testEngine();
    const before = engine.pool.buffersInUse;
    const kept = engine.scope(() => {
      const inner = engine.scope(() => ({ pair: [engine.empty([4]), engine.empty([8])], note: 'plain values pass through' }));
      engine.empty([16]);
      // The outer scope returns one of the inner pair: the other is freed with it.
      return { first: inner.pair[0]! };
    });
    expect(engine.pool.buffersInUse).toBe(before + 1);
    engine.release(kept.first);
    expect(engine.pool.buffersInUse).toBe(before);
  });

  it('adopt hands a scope a tensor made before it, freed when the scope ends', async () => {
    const engine = await testEngine();
    const before = engine.pool.buffersInUse;
    const outside = engine.empty([4]);
    const madeInOuter = engine.scope(() => {
      const owned = engine.empty([4]);
      engine.scope((s) => {
        s.adopt(outside);
        s.adopt(owned);
        expect(s.adopt(undefined)).toBeUndefined();
      });
      // Both are gone now, the outer scope's own tensor included.
      expect(engine.pool.buffersInUse).toBe(before);
      return engine.empty([4]);
    });
    expect(engine.pool.buffersInUse).toBe(before + 1);
    engine.release(madeInOuter);
  });

  it('a tensor released by hand inside a scope is not released again (the pool refuses a second release)', async () => {
    const engine = await testEngine();
    const before = engine.pool.buffersInUse;
    engine.scope(() => {
      const t = engine.empty([4]);
      engine.release(t);
      // The pool hands the same buffer out again: it is owned once, by this tensor.
      const u = engine.empty([4]);
      expect(u.buffer).toBe(t.buffer);
    });
    expect(engine.pool.buffersInUse).toBe(before);
  });

  it('a throw frees everything the scope owns and passes on; a promise-returning callback is refused', async () => {
    const engine = await testEngine();
    const before = engine.pool.buffersInUse;
    expect(() =>
      engine.scope(() => {
        engine.empty([4]);
        engine.scope(() => engine.empty([4]));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(engine.pool.buffersInUse).toBe(before);
    expect(() => engine.scope(async () => engine.empty([4]))).toThrow('engine.scope: the callback returned a promise; a scope spans synchronous recording only (await outside it)');
    expect(engine.pool.buffersInUse).toBe(before);
    let ended: TensorScope | undefined;
    engine.scope((s) => void (ended = s));
    const late = engine.empty([4]);
    expect(() => ended!.adopt(late)).toThrow('TensorScope.adopt: the scope has ended');
    engine.release(late);
  });
});

describe('forward passes built on scopes hold nothing afterwards', () => {
  const vit = (name: string) => vitGoldenFolders().find((f) => f.name === name)!;
  const cases = [
    { model: vit('small-timm'), requests: [{}, { mask: { mode: 'token' as const, keep: [[0, 2, 5], [1]] } }, { captureAttention: true }, { mask: { mode: 'pixel' as const, grid: [2, 2] as [number, number], keep: [[0, 3], [1]] } }] },
    { model: vit('small-deit-distilled'), requests: [{}, { mask: { mode: 'attention' as const, fromLayer: 1, keep: [[0, 1], [2]] } }] },
    { model: vit('small-timm-avg'), requests: [{ mask: { mode: 'token' as const, keep: [[0, 2, 5], [1]] } }] },
    { model: resnetGoldenFolders().find((f) => f.name === 'resnet18-64px-10')!, requests: [{}, { mask: { mode: 'pixel' as const, grid: [4, 4] as [number, number], keep: [[0, 3, 7], [1]] } }] },
  ];

  it.each(cases)('$model.name', async ({ model: folder, requests }) => {
    const engine = await testEngine();
    const model = prepareModel(goldenModelFiles(folder)).instantiate(engine);
    const input = goldenInput(folder, folder.cases[0]!);
    const images = { ...input, shape: [2, ...input.shape.slice(1)], data: new Float32Array([...input.data.subarray(0, input.data.length / input.shape[0]!), ...input.data.subarray(0, input.data.length / input.shape[0]!)]) };
    // A first pass may make the placeholders of switched-off bindings; they stay.
    await model.forward(images, requests[0]!);
    const before = engine.pool.buffersInUse;
    for (const request of requests) {
      const result = await model.forward(images, request);
      expect(result.logits.every(Number.isFinite)).toBe(true);
      expect(engine.pool.buffersInUse, JSON.stringify(request)).toBe(before);
    }
    const prepared = model.prepare(images);
    await model.forward(prepared, requests.at(-1)!);
    prepared.release();
    expect(engine.pool.buffersInUse).toBe(before);
    model.destroy();
  });
});
