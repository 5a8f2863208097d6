import { cpSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Plugin } from 'vite';
import { mountedFile, sendFile } from './scripts/static-server.mjs';

/**
 * Serves folders of the repository under URL prefixes in development (`vite`), and copies
 * them into the build's output (`vite build`): { 'models/setsum-vit': '/abs/models/setsum-vit' }.
 * The build also lists its files in offline-manifest.json for the service worker.
 */
export function bundledFolders(mounts: Record<string, string>): Plugin {
  let outDir = 'dist';
  return {
    name: 'moxi-bundled-folders',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      const served = Object.fromEntries(Object.entries(mounts).map(([prefix, folder]) => [`/${prefix}/`, folder]));
      server.middlewares.use((req, res, next) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (!Object.keys(served).some((p) => path.startsWith(p))) return next();
        sendFile(res, mountedFile(served, path));
      });
    },
    closeBundle() {
      for (const [prefix, folder] of Object.entries(mounts)) cpSync(folder, join(outDir, prefix), { recursive: true });
      // Every file of the built folder, for the service worker to store (static/offline.js).
      const files = readdirSync(outDir, { recursive: true, encoding: 'utf8' })
        .map((f) => f.split(sep).join('/'))
        .filter((f) => statSync(join(outDir, f)).isFile() && f !== 'offline-manifest.json' && f !== 'offline.js' && f !== 'kernel-check.html')
        .sort();
      writeFileSync(join(outDir, 'offline-manifest.json'), `${JSON.stringify(files, null, 1)}\n`);
    },
  };
}
