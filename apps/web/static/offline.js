// The page's service worker: once the page has loaded, it works without a network. On
// install it stores every file of the built folder (offline-manifest.json: the app, the
// bundled models and examples); afterwards each request goes to the network first and
// falls back to the stored copy, so a server that is reachable always wins.
const CACHE = 'moxi-offline-v1';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const response = await fetch('offline-manifest.json', { cache: 'no-store' });
      const files = await response.json();
      const cache = await caches.open(CACHE);
      await cache.addAll(['./', ...files]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      try {
        const response = await fetch(request);
        if (response.ok) (await caches.open(CACHE)).put(request, response.clone());
        return response;
      } catch (error) {
        const stored = await caches.match(request, { ignoreSearch: true });
        if (stored) return stored;
        throw error;
      }
    })(),
  );
});
