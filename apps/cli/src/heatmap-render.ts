import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { PNG } from 'pngjs';
import { heatmapCaption, heatmapSvg, type Attribution, type RewardKind, type RgbaImage, type RgbImage } from '@moxi/attrib';
import { cropOffset, resizedSize, resizeRgb8, type HostTensor, type PreparedModel, type Preprocessing } from '@moxi/kernels';
import { decodeImage, sniffImageFormat } from '@moxi/kernels/node';
import { bundledFontFiles, PLOT_FONT_FAMILY } from './evaluate/report-plot.ts';
import { backdropPixels } from './heatmap-file.ts';
import { writeFileAtomically } from './output-paths.ts';
import { log } from './output.ts';

export const BACKDROPS = ['crop', 'original'] as const;
export type Backdrop = (typeof BACKDROPS)[number];

/** Badges on at most this many MoXI picks. */
const MAX_BADGES = 25;
/** An original picture wider than this is scaled down before it is embedded. */
const MAX_ORIGINAL_WIDTH = 1600;

export interface ExplainHeatmapRequest {
  /** .png or .svg */
  out: string;
  /** The --model argument: its last path component names the model in the title. */
  modelPath: string;
  prepared: PreparedModel;
  inputPath: string;
  /** The one normalised image explained, [1, 3, H, W]. */
  input: HostTensor;
  attribution: Attribution;
  predicted: number;
  /** p(target) on the full image. */
  probability: number;
  reward: RewardKind;
  /** --contrast: the reward is log-odds(predicted) - log-odds(target). */
  contrast?: boolean;
  opacity: number;
  backdrop: Backdrop;
}

/**
 * `moxi explain --out`: composes the heatmap (title with model, method, class and p, colour
 * bar, MoXI badges) and writes it as SVG or PNG, atomically.
 */
export async function writeExplainHeatmap(r: ExplainHeatmapRequest): Promise<void> {
  const { attribution: a, prepared } = r;
  const label = (c: number) => prepared.labels?.[c];
  const caption = heatmapCaption({
    model: modelName(r.modelPath, prepared.info.architecture),
    method: a.method,
    grid: a.grid,
    target: a.target,
    label: label(a.target),
    probability: r.probability,
    predicted: r.predicted,
    predictedLabel: label(r.predicted),
    reward: r.reward,
    contrast: r.contrast === true,
    maxBadges: MAX_BADGES,
    ...(a.order ? { order: a.order, stopStep: a.stopStep ?? a.order.length } : {}),
    ...(a.stopHeld !== undefined ? { stopHeld: a.stopHeld } : {}),
  });
  const image = backdropPixels(r.inputPath, r.input, prepared.preprocessing);
  const original = r.backdrop === 'original' ? originalBackdrop(r.inputPath, prepared.preprocessing) : undefined;
  const { svg } = heatmapSvg({
    image,
    grid: a.grid,
    scores: a.scores,
    method: a.method,
    opacity: r.opacity,
    ...caption,
    ...(original ? { original } : {}),
    ...(a.order ? { order: a.order, orderShown: a.stopStep ?? a.order.length } : {}),
    maxBadges: MAX_BADGES,
    encodePng,
    fontFamily: `${PLOT_FONT_FAMILY}, sans-serif`,
  });
  await writeHeatmapFile(r.out, svg);
}

/** The SVG as is (.svg), or rasterised by resvg with the bundled DejaVu fonts (.png); written next to its name, then renamed. */
export async function writeHeatmapFile(path: string, svg: string): Promise<void> {
  const bytes = extname(path).toLowerCase() === '.svg' ? Buffer.from(svg, 'utf8') : await rasterizeSvg(svg);
  writeFileAtomically(path, bytes);
}

/** PNG of an SVG at one pixel per SVG unit, text in the bundled fonts only. */
export async function rasterizeSvg(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: bundledFontFiles(), defaultFontFamily: PLOT_FONT_FAMILY, sansSerifFamily: PLOT_FONT_FAMILY },
    logLevel: 'off',
  });
  return resvg.render().asPng();
}

export function encodePng(image: RgbaImage): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  png.data.set(image.data);
  return PNG.sync.write(png);
}

/** The model folder's (or .safetensors file's) name; the architecture when that is a bare hash. */
function modelName(path: string, architecture: string): string {
  const name = basename(path.replace(/[\\/]+$/, '')).replace(/\.safetensors$/i, '');
  return name === '' || /^[0-9a-f]{40}$/i.test(name) ? architecture : name;
}

/**
 * The whole picture and where the model's input lies in it: the crop window of the
 * resized image, mapped back through the resize. Undefined (with a note) when the input
 * is a .npy tensor, which has no picture behind it.
 */
export function originalBackdrop(inputPath: string, preprocessing?: Preprocessing): { image: RgbImage; crop: { x: number; y: number; width: number; height: number } } | undefined {
  const buffer = readFileSync(inputPath);
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (!preprocessing || !sniffImageFormat(bytes)) {
    log(`--backdrop original: ${inputPath} is a tensor, not a picture; drawing the tensor itself`);
    return undefined;
  }
  const picture = decodeImage(bytes, inputPath);
  const crop = cropRectangle(picture.width, picture.height, preprocessing);
  if (picture.width <= MAX_ORIGINAL_WIDTH) return { image: picture, crop };
  const k = MAX_ORIGINAL_WIDTH / picture.width;
  const small = resizeRgb8(picture, MAX_ORIGINAL_WIDTH, Math.max(1, Math.round(picture.height * k)), 'bilinear');
  const ky = small.height / picture.height;
  return { image: small, crop: { x: crop.x * k, y: crop.y * ky, width: crop.width * k, height: crop.height * ky } };
}

/** The model's input window in the original picture's pixels (resize, then center crop, undone). */
export function cropRectangle(width: number, height: number, prep: Preprocessing): { x: number; y: number; width: number; height: number } {
  const [rw, rh] = prep.resize ? resizedSize(width, height, prep.resize) : [width, height];
  const sx = width / rw;
  const sy = height / rh;
  if (!prep.centerCrop) return { x: 0, y: 0, width, height };
  const { width: cw, height: ch, convention } = prep.centerCrop;
  return { x: cropOffset(rw, cw, convention) * sx, y: cropOffset(rh, ch, convention) * sy, width: cw * sx, height: ch * sy };
}
