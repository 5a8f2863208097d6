type Rgb = [number, number, number];

function interpolate(stops: ReadonlyArray<readonly [number, number, number]>, t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as Rgb;
}

/**
 * ColorBrewer's 9-class RdBu, blue (t = 0) through near-white (t = 0.5) to red (t = 1):
 * a diverging scale for signed scores, centred on 0 by the caller. The 9-class table
 * stops short of the 11-class near-black ends, so both ends stay visible on dark images.
 */
export const DIVERGING_STOPS: ReadonlyArray<readonly [number, number, number]> = [
  [33, 102, 172],
  [67, 147, 195],
  [146, 197, 222],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [244, 165, 130],
  [214, 96, 77],
  [178, 24, 43],
];

/**
 * ColorBrewer's YlOrRd without its darkest class: pale yellow (t = 0) to strong red
 * (t = 1). A sequential scale for scores without a sign whose low end is light, so that
 * weak cells (MoXI's late picks) stay visible on dark images, and whose high end is the
 * red of the diverging scale's positive side: red means "supports the class" in both.
 */
export const SEQUENTIAL_STOPS: ReadonlyArray<readonly [number, number, number]> = [
  [255, 255, 204],
  [255, 237, 160],
  [254, 217, 118],
  [254, 178, 76],
  [253, 141, 60],
  [252, 78, 42],
  [227, 26, 28],
  [189, 0, 38],
];

/** Diverging colour of t in [0, 1] (clamped): 0 blue, 0.5 near-white, 1 red. */
export function diverging(t: number): Rgb {
  return interpolate(DIVERGING_STOPS, t);
}

/** Sequential colour of t in [0, 1] (clamped): 0 pale yellow, 1 red. */
export function sequential(t: number): Rgb {
  return interpolate(SEQUENTIAL_STOPS, t);
}
