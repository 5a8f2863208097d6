import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { VegaLiteSpec } from '@moxi/attrib';

/** The family of the bundled font files, set as the figure's font so that text never falls back to system fonts. */
export const PLOT_FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

/** PNG pixels per SVG unit: the figure stays sharp when viewed at full size. */
const PNG_SCALE = 2;

/**
 * apps/cli/assets/fonts, from the bundle (apps/cli/dist/moxi.js) or from this source file
 * (apps/cli/src/evaluate/) when it runs unbundled.
 */
export function bundledFontFiles(): string[] {
  const candidates = ['../assets/fonts/', '../../assets/fonts/'].map((dir) => fileURLToPath(new URL(dir, import.meta.url)));
  const dir = candidates.find((d) => FONT_FILES.every((f) => existsSync(`${d}${f}`)));
  if (!dir) throw new Error(`the plot font ${FONT_FILES[0]} is missing from ${candidates[0]}; reinstall moxi (apps/cli/assets/fonts)`);
  return FONT_FILES.map((f) => `${dir}${f}`);
}

export interface RenderedPlot {
  svg: string;
  png: Buffer;
  width: number;
  height: number;
}

/**
 * Compiles a Vega-Lite spec and renders it without a canvas or a browser: Vega draws the
 * SVG (renderer 'none' builds the scene graph only), resvg rasterises it with the bundled
 * font. The libraries load on first use, so other commands never pay for them.
 */
export async function renderPlot(spec: VegaLiteSpec): Promise<RenderedPlot> {
  const [vega, vegaLite, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    font: { loadSystemFonts: false, fontFiles: bundledFontFiles(), defaultFontFamily: PLOT_FONT_FAMILY, sansSerifFamily: PLOT_FONT_FAMILY },
    logLevel: 'off',
  });
  const image = resvg.render();
  return { svg, png: image.asPng(), width: image.width, height: image.height };
}
