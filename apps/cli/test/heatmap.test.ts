import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { diverging, heatmapSvg, sequential, type HeatmapSvgOptions } from '@moxi/attrib';
import { VIT_FIXTURES } from '@moxi/kernels/testing';
import { cropRectangle, encodePng, rasterizeSvg } from '../src/heatmap-render.ts';
import { runCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'moxi-heatmap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Rgb = [number, number, number];

/** A flat image of one grey level, 8x8: every colour in the output is then predictable. */
const flat = (v: number) => ({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(v) });

async function render(o: Omit<HeatmapSvgOptions, 'encodePng'>) {
  const { svg, layout } = heatmapSvg({ ...o, encodePng, fontFamily: 'DejaVu Sans' });
  const png = PNG.sync.read(await rasterizeSvg(svg));
  const at = (x: number, y: number): Rgb => {
    const p = (Math.round(y) * png.width + Math.round(x)) * 4;
    return [png.data[p]!, png.data[p + 1]!, png.data[p + 2]!];
  };
  return { svg, layout, png, at };
}

const blend = (grey: number, c: readonly number[], alpha: number): Rgb => c.map((v) => grey * (1 - alpha) + v * alpha) as Rgb;
const luma = ([r, g, b]: Rgb) => 0.299 * r + 0.587 * g + 0.114 * b;
const near = (got: Rgb, want: readonly number[], tolerance: number) => got.every((v, k) => Math.abs(v - want[k]!) <= tolerance);

describe('heatmap figure (SVG composed in @moxi/attrib, PNG by resvg with the bundled font)', () => {
  it('Shapley values: title in the band, diverging bar (red top, blue bottom), negative patch blue, positive red', async () => {
    const title = 'fixture-vit: Shapley values, full context for class 3 (p = 0.500)';
    const { svg, layout, png, at } = await render({ image: flat(60), grid: [2, 2], scores: [-1, 2, 0, 1], method: 'shapley-full', title, subtitle: '2x2 grid', scoreLabel: 'Shapley value', opacity: 0.6 });
    expect(svg).toContain(`>${title}</text>`);
    expect(layout.area.width).toBeGreaterThanOrEqual(448);
    expect(png.width).toBeGreaterThanOrEqual(layout.area.x + layout.area.width);

    // Title band: dark text pixels on white where the title is, none in the band's far right.
    let ink = 0;
    for (let y = 4; y < layout.titleBandHeight - 4; y++) for (let x = 16; x < 300; x++) if (luma(at(x, y)) < 90) ink++;
    expect(ink).toBeGreaterThan(200);
    expect(at(png.width - 5, 5)).toEqual([255, 255, 255]);

    // Colour bar: symmetric around 0, its two ends the two ends of the diverging scale.
    expect(layout.domain).toEqual([-2, 2]);
    const bar = layout.colorbar;
    const top = at(bar.x + bar.width / 2, bar.y + 2);
    const bottom = at(bar.x + bar.width / 2, bar.y + bar.height - 3);
    expect(near(top, diverging(1), 8)).toBe(true);
    expect(near(bottom, diverging(0), 8)).toBe(true);
    expect(top[0]).toBeGreaterThan(top[2] + 100);
    expect(bottom[2]).toBeGreaterThan(bottom[0] + 100);
    // 0 sits in the middle of the bar, near-white.
    expect(Math.min(...at(bar.x + bar.width / 2, bar.y + bar.height / 2))).toBeGreaterThan(225);

    // Cells over grey 60 at opacity 0.6: -1 (cell 0) is a quarter down the bar (blue; min-max stretching
    // would make it the bottom), +2 (cell 1) full red, 0 (cell 2) near-white.
    const { heat } = layout;
    const centre = (cell: number) => at(heat.x + ((cell % 2) + 0.5) * (heat.width / 2), heat.y + (Math.floor(cell / 2) + 0.5) * (heat.height / 2));
    const negative = centre(0);
    const positive = centre(1);
    expect(near(negative, blend(60, diverging(0.25), 0.6), 3)).toBe(true);
    expect(near(positive, blend(60, diverging(1), 0.6), 3)).toBe(true);
    expect(negative[2]).toBeGreaterThan(negative[0] + 30);
    expect(positive[0]).toBeGreaterThan(positive[2] + 40);
    expect(near(centre(2), blend(60, diverging(0.5), 0.6), 3)).toBe(true);
    expect(near(centre(3), blend(60, diverging(0.75), 0.6), 3)).toBe(true);
  });

  it('MoXI: numbered badges in the top-left corners of the picks only, readable, the patch centre left alone', async () => {
    const { layout, at } = await render({ image: flat(20), grid: [2, 2], scores: [0, 0, 1, 2], method: 'moxi-insertion', order: [3, 2], orderShown: 2, title: 'moxi', opacity: 0.5 });
    const cell = layout.heat.width / 2;
    const origin = (c: number) => [layout.heat.x + (c % 2) * cell, layout.heat.y + Math.floor(c / 2) * cell] as const;
    const corner = (c: number) => {
      // The badge's zone: the cell's top-left 15% square.
      const [x0, y0] = origin(c);
      const pixels: Rgb[] = [];
      for (let y = 2; y < cell * 0.15; y++) for (let x = 2; x < cell * 0.15; x++) pixels.push(at(x0 + x, y0 + y));
      return pixels;
    };
    for (const c of [3, 2]) {
      const zone = corner(c);
      // A dark pill (darker than the dark image under the overlay) with white text and outline.
      expect(zone.filter((p) => luma(p) < 40).length).toBeGreaterThan(zone.length * 0.15);
      expect(zone.filter((p) => p.every((v) => v > 235)).length).toBeGreaterThan(15);
    }
    // Unpicked cells: no badge, no colour: the image itself.
    for (const c of [0, 1]) expect(corner(c).every((p) => near(p, [20, 20, 20], 1) || p.every((v) => v > 20))).toBe(true);
    expect(corner(0).filter((p) => p.every((v) => v > 235)).length).toBe(0);
    // Badge rectangles: inside the top-left quarter of their cell; the centre keeps the score colour.
    expect(layout.badges.map((b) => [b.cell, b.step])).toEqual([
      [3, 1],
      [2, 2],
    ]);
    for (const b of layout.badges) {
      const [x0, y0] = origin(b.cell);
      expect(b.x + b.width).toBeLessThan(x0 + cell / 2);
      expect(b.y + b.height).toBeLessThan(y0 + cell / 2);
      const middle = at(x0 + cell / 2, y0 + cell / 2);
      expect(near(middle, blend(20, sequential(b.step === 1 ? 1 : 0), 0.5), 3)).toBe(true);
    }
    // The first pick (weight 2) is the bar's top colour, the last (weight 1) its bottom; the bottom is light.
    expect(luma(at(layout.colorbar.x + 8, layout.colorbar.y + layout.colorbar.height - 3))).toBeGreaterThan(200);
  });

  it('MoXI full ranking (--stop full): all ranked cells coloured and badged, the stop rule\'s group outlined in white', async () => {
    const { layout, at } = await render({ image: flat(20), grid: [2, 2], scores: [0, 0, 0, 1], method: 'moxi-insertion', order: [3, 2, 0, 1], orderShown: 1, title: 'moxi', opacity: 0.5 });
    expect(layout.badges).toHaveLength(4);
    const cell = layout.heat.width / 2;
    // Bottom edge, middle, 2 px inside: white outline on cell 3 (chosen), score colour on cell 2 (ranked 2nd, not chosen).
    const edge = (c: number) => at(layout.heat.x + ((c % 2) + 0.5) * cell, layout.heat.y + (Math.floor(c / 2) + 1) * cell - 2.5);
    expect(edge(3).every((v) => v > 240)).toBe(true);
    expect(near(edge(2), blend(20, sequential(2 / 3), 0.5), 3)).toBe(true);
  });

  it('Grad-CAM is smooth (bilinear): neighbouring pixels differ little, even across cell borders; Shapley blocks jump there', async () => {
    // A checkerboard of scores: blocks would jump by the whole range at every border.
    const scores = [0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0];
    const step = async (method: 'gradcam' | 'shapley-self') => {
      const { layout, at } = await render({ image: flat(128), grid: [4, 4], scores, method, title: method, opacity: 0.7 });
      const { heat } = layout;
      const y = heat.y + heat.height * 0.375; // middle of row 1
      let largest = 0;
      let lo = 255;
      let hi = 0;
      for (let x = Math.ceil(heat.x) + 1; x < heat.x + heat.width - 2; x++) {
        const a = at(x, y);
        const b = at(x + 1, y);
        largest = Math.max(largest, ...a.map((v, k) => Math.abs(v - b[k]!)));
        lo = Math.min(lo, a[1]);
        hi = Math.max(hi, a[1]);
      }
      return { largest, spread: hi - lo };
    };
    const smooth = await step('gradcam');
    expect(smooth.spread).toBeGreaterThan(60); // it does vary...
    expect(smooth.largest).toBeLessThan(6); // ...but gradually
    const blocks = await step('shapley-self');
    expect(blocks.largest).toBeGreaterThan(40);
  });

  it('over the original picture: scaled to the output width, the grid on the crop rectangle, outside dimmed', async () => {
    const picture = { width: 40, height: 20, data: new Uint8Array(40 * 20 * 3).fill(200) };
    const { layout, at } = await render({ image: flat(200), grid: [2, 2], scores: [1, 2, 3, 4], method: 'rollout', title: 'rollout', original: { image: picture, crop: { x: 10, y: 0, width: 20, height: 20 } }, opacity: 0.5 });
    expect(layout.area.width).toBeGreaterThanOrEqual(448);
    expect(layout.heat.x - layout.area.x).toBeCloseTo(layout.area.width / 4);
    expect(layout.heat.width).toBeCloseTo(layout.area.width / 2);
    const outside = at(layout.area.x + 10, layout.area.y + layout.area.height / 2);
    expect(outside[0]).toBeLessThan(130); // dimmed, uncoloured
    expect(near(outside, [outside[0], outside[0], outside[0]], 1)).toBe(true);
  });

  it('crop rectangle: timm resize (shortest edge) then center crop, mapped back to the picture', () => {
    const prep = { inputSize: [32, 32] as [number, number], resize: { mode: 'shortest-edge' as const, size: 35 }, interpolation: 'bicubic' as const, centerCrop: { height: 32, width: 32, convention: 'torchvision' as const }, mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.5, 0.5, 0.5] as [number, number, number], rescale: 1 / 255 };
    // 96x72 -> 46x35 -> crop 32 at (7, 2) (torchvision rounds half to even: 7, 1.5 -> 2).
    const r = cropRectangle(96, 72, prep);
    expect(r.x).toBeCloseTo((7 * 96) / 46);
    expect(r.y).toBeCloseTo((2 * 72) / 35);
    expect(r.width).toBeCloseTo((32 * 96) / 46);
    expect(r.height).toBeCloseTo((32 * 72) / 35);
  });
});

describe('moxi explain --out (the built CLI, small ViT fixture)', () => {
  const model = join(VIT_FIXTURES, 'small-timm');
  const npy = join(VIT_FIXTURES, 'small-timm', 'input.npy');
  const picture = new URL('../../../examples/images/demo.png', import.meta.url).pathname;

  it('.svg writes the SVG document with the title, atomically', () => {
    const out = join(dir, 'h.svg');
    const run = runCli(['explain', '--model', model, '--input', npy, '--image-index', '0', '--method', 'shapley-self', '--out', out]);
    expect(run.code).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toMatch(/>small-timm: Shapley values, self context for class \d+ \(p [=<] [0-9.]+\)<\/text>/);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('--backdrop original draws the whole 4:3 picture, not the square crop', () => {
    const out = join(dir, 'original.png');
    const run = runCli(['explain', '--model', model, '--input', picture, '--method', 'gradcam', '--backdrop', 'original', '--out', out]);
    expect(run.code).toBe(0);
    const crop = PNG.sync.read(readFileSync((runCli(['explain', '--model', model, '--input', picture, '--method', 'gradcam', '--out', join(dir, 'crop.png')]), join(dir, 'crop.png'))));
    const png = PNG.sync.read(readFileSync(out));
    expect(png.width).toBeGreaterThanOrEqual(448);
    // The crop backdrop is square (32x32 input); the original is 4:3: as wide, a quarter less tall (448 x 336 against 448 x 448).
    expect(png.width).toBe(crop.width);
    expect(crop.height - png.height).toBeGreaterThan(100);
  });

  it('refuses an unknown --backdrop and a --out that is neither .png nor .svg (exit 2)', () => {
    for (const [args, name] of [
      [['--backdrop', 'photo'], '--backdrop'],
      [['--out', join(dir, 'h.jpg')], '.svg'],
    ] as const) {
      const run = runCli(['explain', '--model', model, '--input', npy, '--image-index', '0', ...args]);
      expect(run.code).toBe(2);
      expect(run.messages[0]).toContain(name);
    }
  });
});
