// Keeps the page working offline: every file of the page is cached when the page is first
// loaded, and served from the cache afterwards. scripts/build-web stamps the build below, so a
// new build replaces the cache.
const CACHE = 'grove-playground-__BUILD__';
const FILES = [
  './',
  'index.html',
  'style.css',
  'favicon.svg',
  'app.js',
  'boot.js',
  'engine.js',
  'worker.js',
  'text.js',
  'graph.js',
  'folder.js',
  'share.js',
  'demo-fleet.js',
  'demo-payloads.js',
  'pkg/grove_wasm.js',
  'pkg/grove_wasm_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    // Older builds' caches go, those named before the page was the playground too.
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => (k.startsWith('grove-playground-') || k.startsWith('grove-preview-')) && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(request, { ignoreSearch: true });
      if (cached) return cached;
      const response = await fetch(request);
      if (response.ok) cache.put(request, response.clone());
      return response;
    }),
  );
});
