/**
 * Class names from a config: timm's label_names list, or transformers' id2label map
 * ({"0": "tench", ...}). Anything else yields no labels rather than an error: names are
 * for display only.
 */
export function labelsFrom(value: unknown): string[] | undefined {
  if (Array.isArray(value) && value.every((x) => typeof x === 'string')) return value as string[];
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, name]) => [Number(k), String(name)] as const);
    if (entries.length > 0 && entries.every(([k]) => Number.isInteger(k) && k >= 0)) {
      const labels: string[] = [];
      for (const [k, name] of entries) labels[k] = name;
      return labels;
    }
  }
  return undefined;
}
