/* Live updates for every page: one WebSocket to the API's /api/v1/ws/dashboard (the
 * connection and its reconnects: live_socket.js).
 *
 * The server hands over {url, token} in the "dash-ws-config" store (a fresh one when a
 * reconnect is asked for through "dash-ws-reconnect"). Status changes and progress
 * (runtime.progress: count, bar and ETA) update the grid's row at once; status changes
 * and new runs then reload the grid's cached blocks (debounced) for last run and run
 * strip; app.fatal and failed runs raise a toast that opens the app. The connection
 * state is always shown ("#live-state"). Polling stays the fallback (apps_grid.js).
 * Text is inserted with textContent only; no eval.
 */
(function () {
  "use strict";
  var TYPES = ["app.status_changed", "app.fatal", "runtime.started", "runtime.completed",
               "runtime.progress", "app.command_sent"];
  var TOAST_MS = 12000;
  var state = { feed: null, refresh: null };

  function setState(text, ok) {
    var el = document.getElementById("live-state");
    if (!el) { return; }
    el.textContent = text;
    el.className = "live-state " + (ok ? "connected" : "disconnected");
  }

  function gridApi() {
    try {
      var dag = window.dash_ag_grid;
      var api = dag && dag.getApi ? dag.getApi("apps-grid") : null;
      return api && !(api.isDestroyed && api.isDestroyed()) ? api : null;
    } catch (e) {
      return null;
    }
  }

  function refreshSoon() {
    if (state.refresh) { return; }
    state.refresh = setTimeout(function () {
      state.refresh = null;
      var api = gridApi();
      if (api) { api.refreshInfiniteCache(); }
    }, 250);
  }

  function appPath(appId) {
    return "/dashboard/app/" + encodeURIComponent(appId);
  }

  function toast(text, appId) {
    var box = document.getElementById("toasts");
    if (!box) { return; }
    var item = document.createElement("div");
    item.className = "toast";
    item.setAttribute("role", "alert");
    item.textContent = text;
    item.title = "Open " + appId;
    item.addEventListener("click", function () { window.location.assign(appPath(appId)); });
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, TOAST_MS);
  }

  // the grid's texts, as dashboard/rows.py writes them (progress_text, duration_text)
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function durationText(seconds) {
    if (typeof seconds !== "number") { return ""; }
    var s = Math.max(0, Math.round(seconds));
    var hours = Math.floor(s / 3600);
    var minutes = Math.floor((s % 3600) / 60);
    if (hours) { return hours + "h " + pad(minutes) + "m"; }
    if (minutes) { return minutes + "m " + pad(s % 60) + "s"; }
    return s + "s";
  }

  function progressText(current, total) {
    if (current === null || current === undefined) { return ""; }
    return total === null || total === undefined ? String(current) : current + "/" + total;
  }

  // runtime.progress: the row's count, bar and ETA at once, without a round trip
  function applyProgress(api, data) {
    var node = api && data.app ? api.getRowNode(String(data.app)) : null;
    if (!node || !node.data) { return; }
    var percent = typeof data.percent === "number" ? Math.max(0, Math.min(100, data.percent)) : null;
    node.setData(Object.assign({}, node.data, {
      progress: progressText(data.current, data.total),
      progress_percent: percent,
      eta: durationText(data.eta_seconds)
    }));
  }

  function onEvent(frame) {
    var data = frame.data || {};
    var api = gridApi();
    if (frame.type === "runtime.progress") {
      applyProgress(api, data);
    } else if (frame.type === "app.status_changed") {
      var node = api && data.app ? api.getRowNode(String(data.app)) : null;
      if (node && node.data) { node.setDataValue("run_status", data.new_status); }
      refreshSoon();
    } else if (frame.type === "app.fatal") {
      toast("FATAL: " + data.app + (data.reason ? " — " + data.reason : ""), data.app);
      refreshSoon();
    } else if (frame.type === "runtime.completed") {
      if (data.status === "FAILED") { toast("Run failed: " + data.app, data.app); }
      refreshSoon();
    } else if (frame.type === "runtime.started" || frame.type === "app.command_sent") {
      refreshSoon();
    }
  }

  function feed() {
    if (!state.feed) {
      state.feed = window.dcLive.create({
        reconnectStore: "dash-ws-reconnect",
        refused: [4401, 4403],
        subscribe: function () { return { type: "subscribe", types: TYPES }; },
        onConnecting: function () { setState("Live: connecting…", false); },
        onFrame: function (frame) {
          if (frame.type === "subscribed") {
            setState("Live", true);
          } else if (frame.type === "error") {
            setState("Live error: " + (frame.data && frame.data.message), false);
          } else {
            onEvent(frame);
          }
        },
        onRefused: function (event) {
          setState("Live updates refused (" + event.code + ") — polling", false);
        },
        onDisconnected: function () {
          setState("Live updates disconnected — polling, reconnecting…", false);
        }
      });
    }
    return state.feed;
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.dc = Object.assign(window.dash_clientside.dc || {}, {
    dashboardLive: function (config) {
      if (!config || !config.url || !config.token) { return ""; }
      feed().connect(config);
      return "";
    }
  });
})();
