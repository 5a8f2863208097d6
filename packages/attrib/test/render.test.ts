import { describe, expect, it } from 'vitest';
import { viridis } from '../src/render/colormap.ts';
import { renderHeatmap } from '../src/render/heatmap.ts';

describe('viridis', () => {
  it('runs from dark purple to yellow, clamped', () => {
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(1)).toEqual([253, 231, 37]);
    expect(viridis(-3)).toEqual(viridis(0));
    expect(viridis(0.5)).toEqual([33, 144, 141]);
  });

  it('gets lighter monotonically (readable in greyscale)', () => {
    const luma = (t: number) => {
      const [r, g, b] = viridis(t);
      return 0.299 * r + 0.587 * g + 0.114 * b;
    };
    for (let t = 0; t < 1; t += 0.05) expect(luma(t + 0.05)).toBeGreaterThan(luma(t));
  });
});

describe('heatmap', () => {
  // A flat grey 8x8 image, 2x2 cells, drawn at 8x (64 px wide).
  const image = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(100) };
  const at = (img: { width: number; data: Uint8ClampedArray }, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));

  it('blends each cell with the colour of its score at the given opacity', () => {
    const out = renderHeatmap({ image, grid: [2, 2], scores: [0, 1, 0.5, 1], opacity: 0.5, minWidth: 64 });
    expect([out.width, out.height]).toEqual([64, 64]);
    // Inside cell 0 (score = min -> viridis(0)) and cell 1 (max -> viridis(1)), away from lines and text.
    // Rounded as the RGBA buffer (Uint8ClampedArray) rounds: half to even.
    const blend = (t: number) => Array.from(Uint8ClampedArray.from(viridis(t).map((c) => 100 * 0.5 + c * 0.5)));
    expect(at(out, 10, 20)).toEqual(blend(0));
    expect(at(out, 50, 20)).toEqual(blend(1));
  });

  it('leaves cells outside the MoXI group uncoloured and writes the rank on chosen ones', () => {
    const out = renderHeatmap({ image, grid: [2, 2], scores: [0, 2, 0, 1], order: [1, 3, 0, 2], orderShown: 2, opacity: 0.5, minWidth: 64 });
    expect(at(out, 10, 20)).toEqual([100, 100, 100]);
    expect(at(out, 10, 52)).toEqual([100, 100, 100]);
    // Cell 1 carries "1": its centre column of the glyph is white ink.
    const cell1 = [...Array(32).keys()].flatMap((y) => [...Array(32).keys()].map((x) => at(out, 32 + x, y)));
    expect(cell1.some((p) => p.every((v) => v === 255))).toBe(true);
    const cell0 = [...Array(30).keys()].flatMap((y) => [...Array(30).keys()].map((x) => at(out, 1 + x, 1 + y)));
    expect(cell0.some((p) => p.every((v) => v === 255))).toBe(false);
  });
});
