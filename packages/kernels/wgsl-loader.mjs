// WGSL lives in real .wgsl files; bundlers and vitest turn each import into its source
// string, so the same shader text reaches Node (esbuild) and browsers (Vite).
// Plain JavaScript: config files of other workspace packages load it without a TS step.

/** A Vite / Vitest plugin that loads .wgsl files as default-exported strings. */
export function wgslPlugin() {
  return {
    name: 'moxi-wgsl',
    /** @param {string} code @param {string} id */
    transform(code, id) {
      if (!id.endsWith('.wgsl')) return null;
      return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

/** esbuild option: load .wgsl files as text. */
export const esbuildWgslLoader = { '.wgsl': 'text' };
