// WGSL lives in real .wgsl files; bundlers and vitest turn each import into its source
// string, so the same shader text reaches Node (esbuild) and browsers (Vite).
import type { Plugin } from 'vite';

export function wgslPlugin(): Plugin {
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
