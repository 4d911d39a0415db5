/* Keyboard shortcuts of every page (docs/dashboard.md):
 *   /      focus the search box (#apps-search when the page has one, else its first search input)
 *   j / k  move the focused row of the page's grid down / up
 *   Enter  open the focused app (the Program Manager's grid)
 *   Esc    leave a text box; elsewhere go back to the previous dashboard page (never back
 *          out of the dashboard, e.g. to the login form; an app opened from a link goes to
 *          the Program Manager)
 * Keys typed into a text box, or with Ctrl/Alt/Meta, are left alone. No eval. */
(function () {
  "use strict";
  var APPS_GRID = "apps-grid";
  var PREFIX = "/dashboard/app/";
  var HOME = "/dashboard/apps/all";
  // pages this tab moved to inside the dashboard; Esc goes back only through these. The
  // address is watched (not history.pushState wrapped: a wrapped pushState stops plotly
  // charts from drawing in dcc.Tabs); a change after a popstate is a step back.
  var depth = 0;
  var last = window.location.pathname + window.location.search;
  var popped = false;
  window.addEventListener("popstate", function () { popped = true; });

  function track() {
    var now = window.location.pathname + window.location.search;
    if (now === last) { return; }
    depth = popped ? Math.max(0, depth - 1) : depth + 1;
    popped = false;
    last = now;
  }
  window.setInterval(track, 200);

  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function searchBox() {
    return document.getElementById("apps-search") ||
      document.querySelector(".page input[type=search], .page input[type=text]");
  }

  function gridElement() {
    return document.getElementById(APPS_GRID) ||
      document.querySelector(".page div[id][class*='ag-theme-']");
  }

  function gridApi(el) {
    var dag = window.dash_ag_grid;
    if (!el || !dag || typeof dag.getApi !== "function") { return null; }
    try {
      var api = dag.getApi(el.id);
      return api && !(api.isDestroyed && api.isDestroyed()) ? api : null;
    } catch (e) {
      return null; // the grid is not mounted yet
    }
  }

  function firstColumn(api) {
    var cols = api.getAllDisplayedColumns ? api.getAllDisplayedColumns() : [];
    // skip the checkbox column: focus a data cell
    for (var i = 0; i < cols.length; i += 1) {
      if (cols[i].getColDef && cols[i].getColDef().field) { return cols[i]; }
    }
    return cols[0];
  }

  function move(api, step) {
    var count = api.getDisplayedRowCount();
    if (!count) { return; }
    var cell = api.getFocusedCell();
    var index = cell ? cell.rowIndex + step : 0;
    index = Math.max(0, Math.min(count - 1, index));
    var column = cell ? cell.column : firstColumn(api);
    api.ensureIndexVisible(index);
    api.setFocusedCell(index, column);
  }

  function navigate(path) {
    // what dcc.Link does: the Dash router follows without a page load
    window.history.pushState({}, "", path);
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    window.scrollTo(0, 0);
  }

  function openFocused(api) {
    var cell = api.getFocusedCell();
    var node = cell ? api.getDisplayedRowAtIndex(cell.rowIndex) : null;
    if (!node || !node.id) { return false; }
    navigate(PREFIX + encodeURIComponent(node.id));
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) { return; }
    var target = event.target;
    if (event.key === "Escape") {
      if (typing(target)) { target.blur(); return; }
      track();
      if (depth > 0) {
        event.preventDefault();
        window.history.back();
      } else if (window.location.pathname.indexOf(PREFIX) === 0) {
        event.preventDefault();
        navigate(HOME);
      }
      return;
    }
    if (typing(target)) { return; }
    if (event.key === "/") {
      var box = searchBox();
      if (box) { event.preventDefault(); box.focus(); box.select(); }
      return;
    }
    if (event.key !== "j" && event.key !== "k" && event.key !== "Enter") { return; }
    var el = gridElement();
    var api = gridApi(el);
    if (!api) { return; }
    if (event.key === "Enter") {
      // only the apps grid opens something; AG Grid keeps Enter elsewhere
      if (el.id === APPS_GRID && openFocused(api)) { event.preventDefault(); }
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    move(api, event.key === "j" ? 1 : -1);
  }, true);
})();
