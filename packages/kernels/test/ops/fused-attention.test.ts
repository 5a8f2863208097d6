import { describe, expect, it } from 'vitest';
import { attention } from '../../src/ops/attention.ts';
import { attentionRef } from '../../src/reference/ops.ts';
import { deterministicTensor } from '../../src/testing/index.ts';
import { maxAbsDiff, testEngine } from '../helpers/gpu.ts';

// The one-dispatch attention (online softmax, key/value tiles in workgroup memory) against
// the three-dispatch path it replaces and the float64 reference. Tolerance 1e-5 absolute
// on outputs of O(1): float32 sums in another order (measured ~2e-7); a wrong key, mask
// or rescale moves outputs by 1e-2 or more. Shapes are ragged on purpose: T not a
// multiple of the key tile or of the 64-query tile, a last block with 2 queries, each
// sequence with its own visible keys.
const TOLERANCE = 1e-5;

const cases = [
  { label: 'ViT-Tiny heads (Dh 64), 197 tokens, unmasked', B: 2, T: 197, H: 3, Dh: 64, queries: 197, masked: false },
  { label: 'Dh 64, 197 tokens, ragged key masks', B: 3, T: 197, H: 3, Dh: 64, queries: 197, masked: true },
  { label: 'Dh 16, 37 tokens, masked, first 2 queries only', B: 3, T: 37, H: 4, Dh: 16, queries: 2, masked: true },
  { label: 'Dh 32, 5 tokens (fewer keys than a tile), masked', B: 4, T: 5, H: 2, Dh: 32, queries: 5, masked: true },
  { label: 'Dh 128 (smaller key tiles), 70 tokens', B: 1, T: 70, H: 2, Dh: 128, queries: 70, masked: false },
];

describe('fused attention', () => {
  it.each(cases)('$label: equals the unfused path and the reference', async ({ B, T, H, Dh, queries, masked }) => {
    const e = await testEngine();
    const D = H * Dh;
    const qkv = deterministicTensor(`fused-qkv-${T}-${Dh}`, [B, T, 3 * D], 11, 1.5).data;
    // Sequence b hides a different set of keys (never the first, the class token): ragged.
    const keep = Uint32Array.from({ length: B * T }, (_, i) => (i % T === 0 || (i * 7 + Math.floor(i / T)) % (3 + Math.floor(i / T)) !== 0 ? 1 : 0));
    const tq = e.upload(qkv, [B, T, 3 * D]);
    const tk = masked ? e.upload(keep, [B, T]) : undefined;
    const mask = tk ? { keyKeep: tk } : {};
    const fused = await e.read(attention(e, tq, { heads: H, queries, ...mask, fused: true }).out);
    const unfused = await e.read(attention(e, tq, { heads: H, queries, ...mask, fused: false }).out);
    const reference = new Float64Array(B * queries * D);
    for (let b = 0; b < B; b++) {
      const { out } = attentionRef(qkv.subarray(b * T * 3 * D, (b + 1) * T * 3 * D), T, H, Dh, masked ? (j) => keep[b * T + j] === 1 : undefined);
      reference.set(out.subarray(0, queries * D), b * queries * D);
    }
    e.release(tq, ...(tk ? [tk] : []));
    expect(fused).toHaveLength(B * queries * D);
    expect(maxAbsDiff(fused, unfused)).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(fused, reference)).toBeLessThan(TOLERANCE);
    // The masks matter here: with every key shown the output would differ.
    if (masked) {
      const unmasked = await e.read(attention(e, e.upload(qkv, [B, T, 3 * D]), { heads: H, queries, fused: true }).out);
      expect(maxAbsDiff(unmasked, reference)).toBeGreaterThan(1e-2);
    }
  });
});
