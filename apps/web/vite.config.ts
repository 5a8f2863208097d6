import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { wgslPlugin } from '@moxi/kernels/wgsl-loader';
import { bundledFolders } from './bundled-folders.ts';

// The page ships the bundled trained models and example images: served from the
// repository in development, copied next to the app by the build (no request leaves the
// page's origin, so a built folder works from any static server or offline).
const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

export default defineConfig({
  base: './',
  plugins: [
    wgslPlugin(),
    bundledFolders({
      'models/setsum-vit': repo('models/setsum-vit'),
      'models/setsum-resnet18': repo('models/setsum-resnet18'),
      'models/setsum-vit-patch7': repo('models/setsum-vit-patch7'),
      'examples/setsum': repo('examples/setsum'),
      'examples/tiny-vit': repo('examples/tiny-vit'),
      'examples/images': repo('examples/images'),
    }),
  ],
  // static/: the service worker (offline.js), served from the page's root so that it controls the page.
  publicDir: 'static',
  worker: { format: 'es', plugins: () => [wgslPlugin()] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // The explainer, and the page the browser tests use to compare kernels with Node.
    rollupOptions: { input: { main: fileURLToPath(new URL('index.html', import.meta.url)), kernels: fileURLToPath(new URL('kernel-check.html', import.meta.url)) } },
  },
});
