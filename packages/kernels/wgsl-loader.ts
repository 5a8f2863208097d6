// WGSL lives in real .wgsl files; bundlers and vitest turn each import into its source
// string, so the same shader text reaches Node (esbuild) and browsers (Vite).
/** The subset of a Vite plugin this needs; structurally a Vite / Vitest plugin. */
export interface WgslPlugin {
  name: string;
  transform(code: string, id: string): { code: string; map: null } | null;
}

export function wgslPlugin(): WgslPlugin {
  return {
    name: 'moxi-wgsl',
    transform(code, id) {
      if (!id.endsWith('.wgsl')) return null;
      return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

/** esbuild option: load .wgsl files as text. */
export const esbuildWgslLoader = { '.wgsl': 'text' } as const;
