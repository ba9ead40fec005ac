// The engineer's job page without signal (CSP: a static file, no inline script).
// Every step form carries an idempotency key made here. With signal and nothing waiting, the form posts as usual.
// Without signal (or while older steps still wait), the step — its fields, a photo as a Blob, the signature — is put
// in IndexedDB and sent, oldest first, when the phone is back online; the server keeps the key, so a step sent
// twice (a lost answer, two tabs) happens once. A service worker keeps the engineer pages readable offline.
(function () {
  var me = document.querySelector("script[data-offline-job]");
  if (!me || !window.indexedDB || !window.fetch) { return; }
  var banner = document.querySelector("[data-offline-banner]");
  var DB = "storecrm-smart-home", STORE = "outbox", flushing = false, refused = [];

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function freshKeys(root) {
    (root || document).querySelectorAll("input[data-idempotency-key]").forEach(function (i) { i.value = newKey(); });
  }
  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, {keyPath: "seq", autoIncrement: true}); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function withStore(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), req = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(req ? req.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }
  function queued() { return withStore("readonly", function (s) { return s.getAll(); }); }
  function show(count, sending) {
    if (!banner) { return; }
    var lines = [];
    if (!navigator.onLine) { lines.push(banner.dataset.textOffline); }
    if (sending) { lines.push(banner.dataset.textSending); }
    if (count) { lines.push(banner.dataset.textQueued.replace("__N__", count)); }
    refused.forEach(function (r) { lines.push(banner.dataset.textRefused + " " + r); });
    banner.textContent = lines.join(" ");
    banner.hidden = !lines.length;
    banner.dataset.queued = String(count);
  }
  function refresh() {
    return queued().then(function (items) {
      // a page reopened from the worker's cache shows the steps that follow the ones still waiting (check-in → sign)
      items.forEach(function (item) { if (item.done && item.job === me.dataset.offlineJob) { settle(item.done); } });
      show(items.length, false);
      return items;
    });
  }

  function remember(form) {
    var fields = [];
    new FormData(form).forEach(function (value, name) {
      // a File is kept as a Blob with its name: IndexedDB stores it whole, the photo survives a reload
      if (value instanceof Blob) {
        if (value.size) { fields.push({name: name, blob: value, filename: value.name || "photo.jpg"}); }
      } else { fields.push({name: name, value: value}); }
    });
    // when it happened, not when the signal came back: the server believes it within the last 24 hours
    fields.push({name: "tapped_at", value: new Date().toISOString()});
    return withStore("readwrite", function (s) {
      return s.add({url: form.action, fields: fields, job: me.dataset.offlineJob, done: form.dataset.offlineDone || null,
                    at: Date.now()});
    });
  }
  function send(item) {
    var body = new FormData();
    item.fields.forEach(function (f) {
      if (f.blob) { body.append(f.name, f.blob, f.filename); } else { body.append(f.name, f.value); }
    });
    return fetch(item.url, {method: "POST", body: body, credentials: "same-origin",
                            headers: {"Accept": "application/json"}});
  }
  function flush() {
    if (flushing || !navigator.onLine) { return Promise.resolve(); }
    flushing = true;
    var sent = 0;
    var next = function () {
      return queued().then(function (items) {
        if (!items.length) { return; }
        show(items.length, true);
        return send(items[0]).then(function (response) {
          if (response.status >= 500) { throw new Error("server " + response.status); }
          // 2xx: done (or done before: the key was known); 4xx: refused for good, sending again would not help
          var drop = function () {
            return withStore("readwrite", function (s) { return s.delete(items[0].seq); }).then(function () { sent += 1; return next(); });
          };
          if (response.ok) { return drop(); }
          return response.json().catch(function () { return {}; }).then(function (data) {
            var errors = (data && data.errors) || {};
            Object.keys(errors).forEach(function (k) { refused.push(errors[k].join(" ")); });
            if (!Object.keys(errors).length) { refused.push(String(response.status)); }
            return drop();
          });
        });
      });
    };
    return next().catch(function () { /* still no way through: keep the queue for the next try */ })
      .then(function () {
        flushing = false;
        return refresh().then(function (items) {
          // show what the server now says, unless something was refused and needs reading first
          if (sent && !items.length && !refused.length) { window.location.reload(); }
        });
      });
  }

  function settle(done) {
    document.querySelectorAll("form[data-offline-done='" + done + "']").forEach(function (el) { el.hidden = true; });
    document.querySelectorAll("[data-offline-reveal='" + done + "']").forEach(function (el) {
      if (el.hidden) { el.hidden = false; window.dispatchEvent(new Event("resize")); }  // the signature box measures itself
    });
  }

  document.querySelectorAll("form[data-offline]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) { return; }  // the check-in is still asking the phone for its position
      var count = banner ? parseInt(banner.dataset.queued || "0", 10) : 0;
      if (navigator.onLine && !count) { return; }  // with signal and nothing waiting: an ordinary post
      event.preventDefault();
      remember(form).then(function () {
        freshKeys(form);
        if (form.dataset.offlineDone) {
          settle(form.dataset.offlineDone);
        } else {
          form.reset();
          freshKeys(form);
        }
        return refresh();
      }).then(flush);
    });
  });

  freshKeys();
  window.addEventListener("online", flush);
  window.addEventListener("offline", refresh);
  setInterval(flush, 20000);
  refresh().then(flush);
  if (navigator.serviceWorker && me.dataset.worker) {
    navigator.serviceWorker.register(me.dataset.worker, {scope: me.dataset.scope}).catch(function () { /* no cache */ });
  }
})();
