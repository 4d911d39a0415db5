/* Live log panel: one WebSocket to the API's /api/v1/ws/logs, owned by this page (the
 * connection and its reconnects: live_socket.js).
 *
 * The server hands over {url, token, app, level} in the ws-config store (a fresh one when
 * the filters change or a reconnect is asked for). The first message authenticates; a
 * subscribe sets the filter and asks for a short backfill. Lines are appended with
 * textContent only (log messages are data, never markup).
 */
(function () {
  "use strict";
  var MAX_LINES = 1000;
  var state = { feed: null, seen: new Set(), filter: null };

  function onPage() {
    return Boolean(document.getElementById("live-lines"));
  }

  // the connection state: a plain line while live, a red banner while disconnected
  function setStatus(text, broken) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("live-status", {
        children: text,
        className: broken ? "live-banner down" : "muted"
      });
    }
  }

  function clearLines() {
    var box = document.getElementById("live-lines");
    if (box) { box.replaceChildren(); }
    state.seen = new Set();
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

  function onFrame(frame) {
    if (frame.type === "subscribed") {
      var f = frame.data || {};
      setStatus("live · app " + (f.app || "*") + " · level " + (f.level || "any"));
    } else if (frame.type === "backfill") {
      (frame.data.events || []).forEach(function (event) { append(event.data || {}); });
    } else if (frame.type === "log.entry") {
      append(frame.data || {});
    } else if (frame.type === "dropped") {
      append({ level: "WARNING", message: "… " + frame.data.count + " entries skipped" });
    } else if (frame.type === "error") {
      setStatus("error: " + (frame.data && frame.data.message), true);
    }
  }

  function feed() {
    if (!state.feed) {
      state.feed = window.dcLive.create({
        reconnectStore: "ws-reconnect",
        refused: [4400, 4401, 4403],
        alive: onPage,
        subscribe: function (config) {
          var filter = { type: "subscribe", level: config.level || "DEBUG", backfill: 50 };
          if (config.app) { filter.app = config.app; }
          return filter;
        },
        onConnecting: function () { setStatus("connecting…"); },
        onFrame: onFrame,
        onRefused: function (event) {
          setStatus("Disconnected (" + event.code + "): " + (event.reason || "refused"), true);
        },
        onDisconnected: function (event) {
          setStatus("Disconnected from the API (" + event.code + ") — reconnecting…", true);
        }
      });
    }
    return state.feed;
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.dc = Object.assign(window.dash_clientside.dc || {}, {
      liveLogs: function (config) {
        if (!config || !config.url || !config.token) { return ""; }
        // a new filter starts over: the old (unfiltered) lines go, the backfill of the
        // new filter comes in order; a reconnect with the same filter keeps the lines
        var filter = JSON.stringify([config.app || null, config.level || null]);
        if (state.filter !== filter) { clearLines(); }
        state.filter = filter;
        feed().connect(config);
        return "";
      },
      clearLogs: function () {
        clearLines();
        return "";
      }
  });
})();
