/* One WebSocket to the API, shared by the pages' live feeds (dashboard_live.js for
 * /api/v1/ws/dashboard, live_logs.js for /api/v1/ws/logs): open, authenticate, subscribe,
 * hand every frame on, and on a close that is not a refusal ask the server for a fresh
 * {url, token} (a Dash store) with a backoff of 1 s doubling up to 30 s.
 *
 *   var feed = window.dcLive.create({
 *     reconnectStore: "ws-reconnect",          // the store whose change asks for a config
 *     subscribe: function (config) { ... },     // the subscribe frame after auth
 *     onFrame: function (frame) { ... },        // every frame but auth_ok
 *     onConnecting / onRefused(event) / onDisconnected(event, delayMs): state lines
 *     alive: function () { ... },               // optional: false once the page is gone
 *     refused: [4401, 4403]                     // close codes that are final
 *   });
 *   feed.connect({url: ..., token: ...});
 *
 * No eval, no markup: the callers insert text with textContent only.
 */
(function () {
  "use strict";
  var MAX_RETRY = 6; // 500 ms * 2^6 = 32 s, capped at 30 s
  var CAP_MS = 30000;

  function noop() {}

  function LiveSocket(options) {
    this.opts = options;
    this.socket = null;
    this.retry = 0;
    this.timer = null;
  }

  LiveSocket.prototype.alive = function () {
    return !this.opts.alive || this.opts.alive();
  };

  LiveSocket.prototype.close = function () {
    if (!this.socket) { return; }
    var old = this.socket;
    this.socket = null;
    old.onclose = null;
    old.onmessage = null;
    try { old.close(1000); } catch (e) { /* already closed */ }
  };

  LiveSocket.prototype.askReconnect = function (delayMs) {
    var self = this;
    if (self.timer) { clearTimeout(self.timer); }
    self.timer = setTimeout(function () {
      self.timer = null;
      if (self.alive() && window.dash_clientside && window.dash_clientside.set_props) {
        window.dash_clientside.set_props(self.opts.reconnectStore, { data: Date.now() });
      }
    }, delayMs);
  };

  LiveSocket.prototype.connect = function (config) {
    var self = this;
    var opts = self.opts;
    self.close();
    var socket;
    try {
      socket = new WebSocket(config.url);
    } catch (e) {
      (opts.onDisconnected || noop)({ code: 0, reason: String(e) }, 5000);
      self.askReconnect(5000);
      return;
    }
    self.socket = socket;
    (opts.onConnecting || noop)();
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "auth", token: config.token }));
      socket.send(JSON.stringify(opts.subscribe(config)));
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (!self.alive()) { self.close(); return; }
      if (frame.type === "auth_ok") {
        self.retry = 0;
        return;
      }
      opts.onFrame(frame);
    };
    socket.onclose = function (event) {
      if (self.socket !== socket) { return; }
      self.socket = null;
      if (!self.alive()) { return; }
      if ((opts.refused || [4401, 4403]).indexOf(event.code) >= 0) {
        (opts.onRefused || noop)(event);
        return;
      }
      // 4001: the token expired or was revoked; others: the API went away. A fresh token,
      // then connect again, backing off; polling covers the gap.
      self.retry = Math.min(self.retry + 1, MAX_RETRY);
      var delay = Math.min(CAP_MS, 500 * Math.pow(2, self.retry));
      (opts.onDisconnected || noop)(event, delay);
      self.askReconnect(delay);
    };
  };

  window.dcLive = {
    create: function (options) { return new LiveSocket(options); }
  };
})();
