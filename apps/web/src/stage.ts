import { DEFAULT_HEATMAP_OPACITY, heatmapColours, rgbToRgba, smoothScores, type Attribution, type HeatmapColours } from '@moxi/attrib';
import { element, make } from './elements.ts';
import type { ImageView } from './worker/protocol.ts';

/** Heatmap canvas resolution along its longer side: enough for crisp cell edges and smooth maps. */
const HEAT_PIXELS = 448;

/**
 * The picture the model sees, drawn at a readable size, with the player grid's buttons and
 * the heatmap overlay exactly over it: all three fill the same box (#stage).
 */
export class Stage {
  private readonly stage = element<HTMLDivElement>('stage');
  private readonly imageCanvas = element<HTMLCanvasElement>('image-canvas');
  private readonly heatCanvas = element<HTMLCanvasElement>('heatmap-canvas');
  private readonly grid = element<HTMLDivElement>('patch-grid');
  private image: ImageView | undefined;
  private heat: { attribution: Attribution; shown?: readonly number[] } | undefined;
  private opacity = DEFAULT_HEATMAP_OPACITY;
  private hidden = new Set<number>();
  private gridShape: [number, number] = [1, 1];
  private enabled = true;
  onToggle: (hidden: number[]) => void = () => undefined;
  /** Asked before a press hides or shows a patch; false leaves every patch as it is (the page says why). */
  canToggle: () => boolean = () => true;

  showImage(image: ImageView): void {
    this.image = image;
    const ctx = this.imageCanvas.getContext('2d')!;
    this.imageCanvas.width = image.width;
    this.imageCanvas.height = image.height;
    const { data } = rgbToRgba({ width: image.width, height: image.height, data: image.rgb });
    ctx.putImageData(new ImageData(data, image.width, image.height), 0, 0);
    this.stage.style.aspectRatio = `${image.width} / ${image.height}`;
    this.clearHeatmap();
  }

  /** A grid of this shape, keeping what is hidden when the shape is the one shown. */
  fitGrid(shape: [number, number]): void {
    if (shape[0] !== this.gridShape[0] || shape[1] !== this.gridShape[1] || this.grid.childElementCount !== shape[0] * shape[1]) this.setGrid(shape);
  }

  /** The player grid the buttons toggle, every patch shown. */
  setGrid(shape: [number, number]): void {
    this.gridShape = shape;
    this.hidden.clear();
    const [gh, gw] = shape;
    this.grid.style.gridTemplateColumns = `repeat(${gw}, 1fr)`;
    this.grid.style.gridTemplateRows = `repeat(${gh}, 1fr)`;
    this.grid.replaceChildren(
      ...Array.from({ length: gh * gw }, (_, p) => {
        const button = make('button', { type: 'button', className: 'patch' });
        button.dataset.patch = String(p);
        button.setAttribute('aria-pressed', 'false');
        button.setAttribute('aria-disabled', String(!this.enabled));
        button.setAttribute('aria-label', `patch ${p} (row ${Math.floor(p / gw) + 1}, column ${(p % gw) + 1})`);
        button.title = `patch ${p}: press to hide it from the model`;
        button.addEventListener('click', () => this.toggle(p));
        button.addEventListener('keydown', (event) => this.moveFocus(event, p));
        return button;
      }),
    );
  }

  get hiddenPatches(): number[] {
    return [...this.hidden].sort((a, b) => a - b);
  }

  showAll(): void {
    this.hidden.clear();
    for (const b of this.buttons()) b.setAttribute('aria-pressed', 'false');
  }

  /** While busy the patches ignore presses but keep keyboard focus (a disabled button would drop it). */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    for (const b of this.buttons()) b.setAttribute('aria-disabled', String(!enabled));
  }

  setOpacity(opacity: number): void {
    this.opacity = opacity;
    this.drawHeatmap();
  }

  /** Colours the cells by an explanation; `shown` (a MoXI step) dims the players not shown. */
  showHeatmap(attribution: Attribution, shown?: readonly number[]): HeatmapColours {
    this.heat = shown ? { attribution, shown } : { attribution };
    return this.drawHeatmap()!;
  }

  clearHeatmap(): void {
    this.heat = undefined;
    this.drawHeatmap();
  }

  private buttons(): HTMLButtonElement[] {
    return [...this.grid.querySelectorAll<HTMLButtonElement>('button.patch')];
  }

  private toggle(p: number): void {
    if (!this.enabled || !this.canToggle()) return;
    if (this.hidden.has(p)) this.hidden.delete(p);
    else this.hidden.add(p);
    this.buttons()[p]!.setAttribute('aria-pressed', String(this.hidden.has(p)));
    this.onToggle(this.hiddenPatches);
  }

  /** Arrow keys move between patches, as in a grid; Space and Enter press (the button's own). */
  private moveFocus(event: KeyboardEvent, p: number): void {
    const [gh, gw] = this.gridShape;
    const [r, c] = [Math.floor(p / gw), p % gw];
    const next: Record<string, [number, number]> = { ArrowUp: [r - 1, c], ArrowDown: [r + 1, c], ArrowLeft: [r, c - 1], ArrowRight: [r, c + 1] };
    const target = next[event.key];
    if (!target) return;
    event.preventDefault();
    const [nr, nc] = target;
    if (nr >= 0 && nr < gh && nc >= 0 && nc < gw) this.buttons()[nr * gw + nc]!.focus();
  }

  private drawHeatmap(): HeatmapColours | undefined {
    const canvas = this.heatCanvas;
    const ctx = canvas.getContext('2d')!;
    const image = this.image;
    if (!image) return undefined;
    const k = HEAT_PIXELS / Math.max(image.width, image.height);
    canvas.width = Math.round(image.width * k);
    canvas.height = Math.round(image.height * k);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!this.heat) return undefined;
    return paintHeatmap(ctx, canvas.width, canvas.height, this.heat.attribution, this.opacity, this.heat.shown);
  }
}

/**
 * Paints an explanation over a w x h area: cells coloured as the CLI's heatmap colours them
 * (blocks, or a bilinear map for Grad-CAM and rollout), MoXI's pick badges, and for a MoXI
 * step the players no longer shown darkened.
 */
export function paintHeatmap(ctx: CanvasRenderingContext2D, w: number, h: number, a: Attribution, opacity: number, shown?: readonly number[]): HeatmapColours {
  const colours = heatmapColours({ method: a.method, scores: a.scores, ...(a.order ? { order: a.order } : {}) });
  const [gh, gw] = a.grid;
  const cw = w / gw;
  const ch = h / gh;
  if (colours.smooth) {
    const values = smoothScores(a.scores, a.grid, w, h, colours.domain[0]);
    const raster = new ImageData(w, h);
    const alpha = Math.round(opacity * 255);
    values.forEach((v, i) => raster.data.set([...colours.colour(v), alpha], 4 * i));
    // Drawn through a canvas of its own so it blends over what is below (putImageData would replace it).
    const layer = new OffscreenCanvas(w, h);
    layer.getContext('2d')!.putImageData(raster, 0, 0);
    ctx.drawImage(layer, 0, 0);
  } else {
    ctx.globalAlpha = opacity;
    for (let cell = 0; cell < gh * gw; cell++) {
      const value = colours.cellValue(cell);
      if (value === undefined) continue;
      ctx.fillStyle = `rgb(${colours.colour(value).join(',')})`;
      ctx.fillRect((cell % gw) * cw, Math.floor(cell / gw) * ch, cw, ch);
    }
    ctx.globalAlpha = 1;
  }
  if (shown) {
    // A MoXI step: what the model no longer sees is darkened.
    const visible = new Set(shown);
    ctx.fillStyle = 'rgba(0, 0, 0, 0.72)';
    for (let cell = 0; cell < gh * gw; cell++) if (!visible.has(cell)) ctx.fillRect((cell % gw) * cw, Math.floor(cell / gw) * ch, cw, ch);
  }
  if (a.order) {
    // Badges: the pick order in each chosen cell's corner.
    const size = Math.max(11, Math.min(20, Math.round(Math.min(cw, ch) * 0.3)));
    ctx.font = `bold ${size}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    a.order.slice(0, 25).forEach((cell, rank) => {
      const x = (cell % gw) * cw + 4;
      const y = Math.floor(cell / gw) * ch + 4;
      const label = String(rank + 1);
      const pill = Math.max(size * 1.3, ctx.measureText(label).width + size * 0.7);
      ctx.fillStyle = 'rgba(22, 22, 22, 0.9)';
      ctx.strokeStyle = '#ffffff';
      ctx.beginPath();
      ctx.roundRect(x, y, pill, size * 1.3, size * 0.65);
      ctx.fill();
      ctx.stroke();
      ctx.fillStyle = '#ffffff';
      ctx.fillText(label, x + pill / 2, y + size * 0.68);
    });
  }
  return colours;
}
