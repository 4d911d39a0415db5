/* Live log panel: one WebSocket to the API's /api/v1/ws/logs, owned by this page.
 *
 * The server hands over {url, token, app, level} in the ws-config store (a fresh one when
 * the filters change or a reconnect is asked for). The first message authenticates; a
 * subscribe sets the filter and asks for a short backfill. Lines are appended with
 * textContent only (log messages are data, never markup).
 */
(function () {
  "use strict";
  var MAX_LINES = 1000;
  var state = { socket: null, seen: new Set(), retry: 0, timer: null };

  function setStatus(text) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("live-status", { children: text });
    }
  }

  function askReconnect(delayMs) {
    if (state.timer) { clearTimeout(state.timer); }
    state.timer = setTimeout(function () {
      state.timer = null;
      if (document.getElementById("live-lines")) {
        window.dash_clientside.set_props("ws-reconnect", { data: Date.now() });
      }
    }, delayMs);
  }

  function append(entry) {
    var box = document.getElementById("live-lines");
    if (!box) { return false; }
    if (entry.id !== undefined && entry.id !== null) {
      if (state.seen.has(entry.id)) { return true; }
      state.seen.add(entry.id);
    }
    var line = document.createElement("div");
    var level = String(entry.level || "");
    line.className = "live-line level-" + level.toLowerCase().replace(/[^a-z]/g, "");
    line.textContent = [entry.timestamp || "", level, entry.app || "", entry.message || ""]
      .join("  ");
    box.appendChild(line);
    while (box.childElementCount > MAX_LINES) { box.removeChild(box.firstChild); }
    box.scrollTop = box.scrollHeight;
    return true;
  }

  function close() {
    if (state.socket) {
      var old = state.socket;
      state.socket = null;
      old.onclose = null;
      old.onmessage = null;
      try { old.close(1000); } catch (e) { /* already closed */ }
    }
  }

  function connect(config) {
    close();
    var socket = new WebSocket(config.url);
    state.socket = socket;
    setStatus("connecting…");
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "auth", token: config.token }));
      var filter = { type: "subscribe", level: config.level || "DEBUG", backfill: 50 };
      if (config.app) { filter.app = config.app; }
      socket.send(JSON.stringify(filter));
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (!document.getElementById("live-lines")) { close(); return; }
      if (frame.type === "auth_ok") {
        state.retry = 0;
      } else if (frame.type === "subscribed") {
        var f = frame.data || {};
        setStatus("live · app " + (f.app || "*") + " · level " + (f.level || "any"));
      } else if (frame.type === "backfill") {
        (frame.data.events || []).forEach(function (event) { append(event.data || {}); });
      } else if (frame.type === "log.entry") {
        append(frame.data || {});
      } else if (frame.type === "dropped") {
        append({ level: "WARNING", message: "… " + frame.data.count + " entries skipped" });
      } else if (frame.type === "error") {
        setStatus("error: " + (frame.data && frame.data.message));
      }
    };
    socket.onclose = function (event) {
      if (state.socket !== socket) { return; }
      state.socket = null;
      if (!document.getElementById("live-lines")) { return; }
      if (event.code === 4401 || event.code === 4403 || event.code === 4400) {
        setStatus("closed (" + event.code + "): " + (event.reason || "refused"));
        return;
      }
      // 4001: the token expired or was revoked; others: the server went away. Ask the
      // dashboard for a fresh token and connect again, backing off up to 30 s.
      state.retry = Math.min(state.retry + 1, 6);
      var delay = Math.min(30000, 500 * Math.pow(2, state.retry));
      setStatus("disconnected (" + event.code + "), reconnecting…");
      askReconnect(delay);
    };
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.dc = Object.assign(window.dash_clientside.dc || {}, {
      liveLogs: function (config) {
        if (!config || !config.url || !config.token) { return ""; }
        connect(config);
        return "";
      },
      clearLogs: function () {
        var box = document.getElementById("live-lines");
        if (box) { box.replaceChildren(); }
        state.seen = new Set();
        return "";
      }
  });
})();
