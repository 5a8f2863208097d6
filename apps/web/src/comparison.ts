import { ranking, type Attribution } from '@moxi/attrib';
import { element, make } from './elements.ts';
import { paintHeatmap } from './stage.ts';
import type { ExplainResult } from './worker/protocol.ts';

const CARD_PIXELS = 168;

/**
 * Every explanation of the current image side by side: each card is the image with its
 * heatmap, the method, its time and first players; pressing one shows it in full above.
 */
export class Comparison {
  private readonly box = element('comparison');
  private readonly cards = new Map<string, { card: HTMLButtonElement; result: ExplainResult }>();
  onSelect: (result: ExplainResult) => void = () => undefined;

  clear(): void {
    this.cards.clear();
    this.box.replaceChildren();
    element('compare-panel').hidden = true;
  }

  /** Adds (or replaces) the card of this result's method and selects it. */
  add(result: ExplainResult, image: HTMLCanvasElement): void {
    const a = result.explanation.attribution;
    this.cards.get(a.method)?.card.remove();
    const canvas = make('canvas', { width: CARD_PIXELS, height: Math.round((CARD_PIXELS * image.height) / image.width) });
    const ctx = canvas.getContext('2d')!;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    paintHeatmap(ctx, canvas.width, canvas.height, a, 0.6);
    const card = make('button', { type: 'button', className: 'card' }, [
      make('span', { className: 'card-method', textContent: a.method }),
      canvas,
      make('span', { className: 'card-detail', textContent: `${firstPlayers(a)} · ${(result.milliseconds / 1000).toFixed(2)} s` }),
    ]);
    card.dataset.method = a.method;
    card.addEventListener('click', () => {
      this.select(a.method);
      this.onSelect(result);
    });
    this.box.append(card);
    this.cards.set(a.method, { card, result });
    element('compare-panel').hidden = false;
    this.select(a.method);
  }

  setEnabled(enabled: boolean): void {
    for (const { card } of this.cards.values()) card.disabled = !enabled;
  }

  private select(method: string): void {
    for (const [m, { card }] of this.cards) card.setAttribute('aria-pressed', String(m === method));
  }
}

/** MoXI: its chosen group; score methods: their top three players. */
function firstPlayers(a: Attribution): string {
  if (a.order) return `picks ${a.order.slice(0, a.stopStep ?? a.order.length).join(', ')}`;
  return `top ${ranking(a).slice(0, 3).join(', ')}`;
}
