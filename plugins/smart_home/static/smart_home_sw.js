// The engineer pages' service worker: network first, and the last copy of each engineer page (and the static files
// it uses) when there is no signal, so a job opened this morning still opens in a basement. Steps are not sent from
// here: the page's queue (smart_home_offline.js) does that, with idempotency keys.
var CACHE = "storecrm-smart-home-engineer-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (!/\/smart-home\/engineer\//.test(url.pathname) && !/\/static\//.test(url.pathname)) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (hit) { return hit || Response.error(); });
  }));
});
