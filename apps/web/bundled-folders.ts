import { cpSync, createReadStream, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Plugin } from 'vite';

const TYPES: Record<string, string> = { '.json': 'application/json', '.png': 'image/png', '.csv': 'text/csv', '.md': 'text/markdown' };

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
      server.middlewares.use((req, res, next) => {
        const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
        const prefix = Object.keys(mounts).find((p) => path === p || path.startsWith(`${p}/`));
        if (!prefix) return next();
        const file = join(mounts[prefix]!, normalize(path.slice(prefix.length)).replace(/^(\.\.[/\\])+/, ''));
        if (!file.startsWith(mounts[prefix]!) || !existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          res.end();
          return;
        }
        res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
        createReadStream(file).pipe(res);
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
