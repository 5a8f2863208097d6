import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { wgslPlugin } from '@moxi/kernels/wgsl-loader';

// The bundled example models are served as static files next to the app.
export default defineConfig({
  plugins: [wgslPlugin()],
  publicDir: fileURLToPath(new URL('../../examples', import.meta.url)),
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
});
