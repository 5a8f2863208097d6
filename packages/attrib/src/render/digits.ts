/** A 3x5 pixel font for the digits 0-9, one string per row ('#' = ink). */
const GLYPHS: Record<string, string[]> = {
  '0': ['###', '#.#', '#.#', '#.#', '###'],
  '1': ['.#.', '##.', '.#.', '.#.', '###'],
  '2': ['###', '..#', '###', '#..', '###'],
  '3': ['###', '..#', '.##', '..#', '###'],
  '4': ['#.#', '#.#', '###', '..#', '..#'],
  '5': ['###', '#..', '###', '..#', '###'],
  '6': ['###', '#..', '###', '#.#', '###'],
  '7': ['###', '..#', '.#.', '.#.', '.#.'],
  '8': ['###', '#.#', '###', '#.#', '###'],
  '9': ['###', '#.#', '###', '..#', '###'],
};

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

/** Ink pixels of `text` (digits only) at `scale`, as [x, y] offsets from the top-left. */
export function digitPixels(text: string, scale: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  [...text].forEach((ch, n) => {
    const glyph = GLYPHS[ch];
    if (!glyph) throw new Error(`digitPixels: no glyph for "${ch}"`);
    glyph.forEach((row, gy) =>
      [...row].forEach((cell, gx) => {
        if (cell !== '#') return;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) out.push([(n * (GLYPH_WIDTH + 1) + gx) * scale + dx, gy * scale + dy]);
      }),
    );
  });
  return out;
}

export function textWidth(text: string, scale: number): number {
  return (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}
