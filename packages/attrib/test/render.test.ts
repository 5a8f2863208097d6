import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { diverging, sequential } from '../src/render/colormap.ts';
import { defaultHeatmapScale } from '../src/render/heatmap-colours.ts';
import { heatmapCaption, heatmapSvg, numericTicks } from '../src/render/heatmap-svg.ts';
import { base64, encodePngUncompressed } from '../src/render/png-encode.ts';

const luma = ([r, g, b]: number[]) => 0.299 * r! + 0.587 * g! + 0.114 * b!;

describe('colour scales', () => {
  it('diverging: blue below, near-white at the centre, red above, clamped', () => {
    const [r0, , b0] = diverging(0);
    const [r1, , b1] = diverging(1);
    expect(b0).toBeGreaterThan(r0 + 100);
    expect(r1).toBeGreaterThan(b1 + 100);
    expect(Math.min(...diverging(0.5))).toBeGreaterThan(240);
    expect(diverging(-2)).toEqual(diverging(0));
    expect(diverging(7)).toEqual(diverging(1));
  });

  it('sequential: light to dark red, monotonic in luminance; even its low end is light (visible on dark images)', () => {
    for (let t = 0; t < 1; t += 0.05) expect(luma(sequential(t + 0.05))).toBeLessThan(luma(sequential(t)));
    expect(luma(sequential(0))).toBeGreaterThan(240);
    const [r, g, b] = sequential(1);
    expect(r).toBeGreaterThan(150);
    expect(g + b).toBeLessThan(60);
  });

  it('signed methods get the diverging scale', () => {
    expect(defaultHeatmapScale('shapley-full')).toBe('diverging');
    expect(defaultHeatmapScale('interaction-self')).toBe('diverging');
    expect(defaultHeatmapScale('gradcam')).toBe('sequential');
    expect(defaultHeatmapScale('moxi-insertion')).toBe('sequential');
  });
});

describe('numericTicks', () => {
  it('round steps, symmetric around 0 on a symmetric domain', () => {
    expect(numericTicks([-2.37, 2.37]).map((t) => t.label)).toEqual(['\u22122', '\u22121', '0', '1', '2']);
    expect(numericTicks([0, 0.043]).map((t) => t.label)).toEqual(['0', '0.01', '0.02', '0.03', '0.04']);
  });
});

describe('encodePngUncompressed', () => {
  it('writes a PNG whose IDAT inflates to the filtered rows', () => {
    const image = { width: 2, height: 2, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]) };
    const png = encodePngUncompressed(image);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const idat = Buffer.from(png).indexOf('IDAT');
    const length = new DataView(png.buffer).getUint32(idat - 4);
    const raw = inflateSync(png.subarray(idat + 4, idat + 4 + length));
    expect(Array.from(raw)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(base64(png)).toBe(Buffer.from(png).toString('base64'));
  });
});

describe('heatmapSvg', () => {
  const image = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(100) };

  it('is a standalone SVG with the title, the subtitle (escaped) and a colour bar', () => {
    const { svg, layout } = heatmapSvg({ image, grid: [2, 2], scores: [-1, 2, 0, 0.5], method: 'shapley-full', title: 'vit: class 3 "cat & dog"', subtitle: '2x2 grid' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('vit: class 3 &quot;cat &amp; dog&quot;');
    expect(svg).toContain('>2x2 grid</text>');
    expect(layout.scale).toBe('diverging');
    expect(layout.domain).toEqual([-2, 2]);
    expect(layout.area.width).toBeGreaterThanOrEqual(448);
    expect(layout.colorbar.x).toBeGreaterThan(layout.area.x + layout.area.width);
    expect(svg).toContain('id="bar"');
  });

  it('blocks for patch-level scores (one rect per cell), one embedded map for gradcam', () => {
    const blocks = heatmapSvg({ image, grid: [2, 2], scores: [0, 1, 2, 3], method: 'shapley-self', title: 't' });
    expect(blocks.layout.smooth).toBe(false);
    expect(blocks.svg.match(/<image /g)).toHaveLength(1);
    const smooth = heatmapSvg({ image, grid: [2, 2], scores: [0, 1, 2, 3], method: 'gradcam', title: 't' });
    expect(smooth.layout.smooth).toBe(true);
    expect(smooth.layout.domain).toEqual([0, 3]);
    expect(heatmapSvg({ image, grid: [2, 2], scores: [1, 1.5, 2, 3], method: 'gradcam', title: 't' }).layout.domain).toEqual([1, 3]);
    expect(smooth.svg.match(/<image /g)).toHaveLength(2);
  });

  it('MoXI: one badge per pick, in the top-left corner of its cell, clear of the centre', () => {
    const { svg, layout } = heatmapSvg({ image, grid: [2, 2], scores: [0, 2, 0, 1], method: 'moxi-insertion', order: [1, 3], orderShown: 2, title: 't' });
    expect(layout.badges.map((b) => [b.cell, b.step])).toEqual([
      [1, 1],
      [3, 2],
    ]);
    const cell = layout.heat.width / 2;
    for (const b of layout.badges) {
      const cx = layout.heat.x + (b.cell % 2) * cell;
      const cy = layout.heat.y + Math.floor(b.cell / 2) * cell;
      expect(b.x).toBeGreaterThan(cx);
      expect(b.y).toBeGreaterThan(cy);
      expect(b.x + b.width).toBeLessThan(cx + cell / 2);
      expect(b.y + b.height).toBeLessThan(cy + cell / 2);
    }
    expect(svg.match(/class="badge"/g)).toHaveLength(2);
    expect(svg).not.toContain('class="chosen"');
    expect(layout.domain).toEqual([1, 2]);
  });

  it('MoXI full ranking: every ranked cell gets a badge, the stop rule\'s group an outline, the bar a stop mark', () => {
    const { svg, layout } = heatmapSvg({ image, grid: [2, 2], scores: [0, 2, 0, 1], method: 'moxi-deletion', order: [1, 3, 0, 2], orderShown: 1, title: 't' });
    expect(layout.badges.map((b) => b.cell)).toEqual([1, 3, 0, 2]);
    expect(svg.match(/class="chosen"/g)).toHaveLength(1);
    expect(svg).toContain('>stop</text>');
    expect(layout.domain).toEqual([1, 4]);
  });

  it('over the original picture: the grid lies on the crop rectangle, scaled with the picture', () => {
    const picture = { width: 20, height: 10, data: new Uint8Array(20 * 10 * 3).fill(50) };
    const { layout } = heatmapSvg({ image, grid: [2, 2], scores: [0, 1, 2, 3], method: 'rollout', title: 't', original: { image: picture, crop: { x: 5, y: 0, width: 10, height: 10 } } });
    const k = layout.area.width / 20;
    expect(layout.area.height).toBeCloseTo(10 * k);
    expect(layout.heat.x - layout.area.x).toBeCloseTo(5 * k);
    expect(layout.heat.width).toBeCloseTo(10 * k);
  });
});

describe('heatmapCaption', () => {
  it('names model, method, class label and p; MoXI subtitle says how many patches and where it stopped', () => {
    const c = heatmapCaption({ model: 'vit-s', method: 'moxi-insertion', grid: [4, 4], target: 3, label: 'cat', probability: 0.91234, order: [5, 1, 2], stopStep: 3, stopHeld: true });
    expect(c.title).toBe('vit-s: MoXI insertion for class 3 "cat" (p = 0.912)');
    expect(c.subtitle).toContain('4x4 grid');
    expect(c.subtitle).toContain('3 of 16 patches inserted, the stop rule held at step 3');
    const full = heatmapCaption({ model: 'm', method: 'moxi-insertion', grid: [2, 2], target: 1, order: [0, 1, 2, 3], stopStep: 2, stopHeld: true });
    expect(full.subtitle).toContain('all 4 patches ranked; the stop rule held at step 2 (outlined)');
    const s = heatmapCaption({ model: 'setsum', method: 'shapley-full', grid: [2, 2], target: 13, label: '13', probability: 0.0001 });
    expect(s.title).toBe('setsum: Shapley values, full context for class 13 (p < 0.001)');
    expect(s.scoreLabel).toContain('Shapley value');
  });

  it("names what a group method's player scores are: order-1 terms up to 12 players, full-context Shapley values beyond", () => {
    const label = (method: 'shapley-interaction' | 'shapley-taylor', g: number) => heatmapCaption({ model: 'm', method, grid: [g, g], target: 1 }).scoreLabel;
    expect(label('shapley-interaction', 2)).toBe('Shapley value (log-odds)');
    expect(label('shapley-taylor', 2)).toBe('own term v({i}) \u2212 v({}) (log-odds)');
    expect(label('shapley-taylor', 4)).toBe('full-context Shapley value (log-odds)');
    expect(label('shapley-interaction', 8)).toBe('full-context Shapley value (log-odds)');
  });
});
