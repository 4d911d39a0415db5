/* Program Manager grid (AG Grid's infinite row model, paged by the API).
 *
 * On every poll (the "tick" interval) the grid reloads the blocks it keeps in its cache
 * (refreshInfiniteCache): each becomes one getRowsRequest, answered by the server from one
 * /api/v1/apps page. Rows are updated in place: scroll position and selection (row ids:
 * getRowId) stay. A poll is skipped while a block is still loading, so a slow API never
 * piles up requests. When the sidebar filter changes on a grid that stays mounted, the
 * cache is purged and the grid starts over from the top. While the API is down (the
 * "api-state" store) nothing is asked; when it comes back the blocks reload at once.
 * No eval: plain functions only.
 */
(function () {
  "use strict";
  var GRID = "apps-grid";
  var MAX_SKIPS = 5; // after this many skipped polls, reload anyway (a lost answer)
  var grids = new WeakMap(); // grid api -> {filter, skips}

  function noUpdate() {
    return window.dash_clientside.no_update;
  }

  function gridApi() {
    var dag = window.dash_ag_grid;
    var api = null;
    try {
      api = dag && typeof dag.getApi === "function" ? dag.getApi(GRID) : null;
    } catch (e) {
      return null; // not mounted yet, or already gone (getApi throws then)
    }
    if (!api || (typeof api.isDestroyed === "function" && api.isDestroyed())) { return null; }
    return api;
  }

  function loading(api) {
    var blocks = api.getCacheBlockState() || {};
    return Object.keys(blocks).some(function (key) {
      var status = blocks[key] && blocks[key].pageStatus;
      return status === "loading" || status === "needsLoading";
    });
  }

  function refreshApps(tick, filter, apiState) {
    var api = gridApi();
    if (!api) { return noUpdate(); }
    var up = !apiState || apiState.up !== false;
    var key = JSON.stringify(filter || {});
    var state = grids.get(api);
    if (!state) {
      // a grid seen for the first time asks for its first block by itself
      grids.set(api, { filter: key, skips: 0, up: up });
      return noUpdate();
    }
    var recovered = up && state.up === false;
    state.up = up;
    if (!up) { return noUpdate(); } // nothing would answer: keep the rows, greyed
    if (document.hidden && !recovered) { return noUpdate(); } // a hidden tab does not poll
    if (recovered) {
      // the API is back (callbacks/api_banner.py): reload now, whatever is pending
      state.skips = 0;
      api.refreshInfiniteCache();
      return tick;
    }
    if (state.filter !== key) {
      state.filter = key;
      state.skips = 0;
      api.ensureIndexVisible(0, "top");
      api.purgeInfiniteCache();
      return key;
    }
    if (loading(api) && state.skips < MAX_SKIPS) {
      state.skips += 1;
      return noUpdate();
    }
    state.skips = 0;
    api.refreshInfiniteCache();
    return tick;
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.dc = Object.assign(window.dash_clientside.dc || {}, {
    refreshApps: refreshApps
  });
})();
