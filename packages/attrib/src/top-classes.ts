export interface RankedClass {
  index: number;
  label?: string;
  logit: number;
  probability: number;
}

/** The k most likely classes of one row of logits, softmax computed stably in float64. */
export function topClasses(logits: Float32Array, k: number, labels?: string[]): RankedClass[] {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  return order.slice(0, k).map((index) => {
    const ranked: RankedClass = { index, logit: logits[index]!, probability: Math.exp(logits[index]! - max) / sum };
    const label = labels?.[index];
    if (label !== undefined) ranked.label = label;
    return ranked;
  });
}
