import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const CONTENT_TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.png': 'image/png',
  '.csv': 'text/csv',
  '.md': 'text/markdown',
};

/**
 * The file a URL path names under `mounts` ({ '/prefix/': folder }, longest prefix first;
 * a folder's index.html for a folder), or undefined when there is none. `..` cannot climb
 * out of a mounted folder.
 */
export function mountedFile(mounts, urlPath) {
  const path = decodeURIComponent(urlPath);
  const prefix = Object.keys(mounts)
    .sort((a, b) => b.length - a.length)
    .find((p) => path.startsWith(p));
  if (prefix === undefined) return undefined;
  const root = resolve(mounts[prefix]);
  let file = join(root, normalize(path.slice(prefix.length)).replace(/^(\.\.[/\\])+/, ''));
  if (file !== root && !file.startsWith(`${root}${sep}`)) return undefined;
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  return existsSync(file) && statSync(file).isFile() ? file : undefined;
}

/** Answers with the file (its content type from the extension), or 404 when there is none. */
export function sendFile(res, file) {
  if (!file) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}

/**
 * Serves folders under URL prefixes on 127.0.0.1 (a random port): the built page for the
 * browser tests and the screenshot script. `{ '/': distFolder, '/fixtures/': other }`.
 */
export async function serveFolders(mounts) {
  const server = createServer((req, res) => sendFile(res, mountedFile(mounts, new URL(req.url ?? '/', 'http://x').pathname)));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, server };
}
