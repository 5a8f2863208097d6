export interface WgslPlugin {
  name: string;
  transform(code: string, id: string): { code: string; map: null } | null;
}
export function wgslPlugin(): WgslPlugin;
export const esbuildWgslLoader: { readonly '.wgsl': 'text' };
