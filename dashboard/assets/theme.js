/* Light / dark theme: the header's toggle sets <html data-theme="dark"> and remembers the
 * choice in this browser (localStorage "dc-theme"); theme.css re-maps the page's colours.
 * AG Grid switches with its own dark colour scheme: its built-in theme reads the
 * data-ag-theme-mode attribute of an ancestor (AG Grid's theming API, colorSchemeVariable). */
(function () {
  "use strict";
  var KEY = "dc-theme";

  function stored() {
    try { return window.localStorage.getItem(KEY) === "dark" ? "dark" : "light"; }
    catch (e) { return "light"; }
  }

  function label() {
    var button = document.getElementById("theme-toggle");
    if (!button) { return; }
    var dark = document.documentElement.getAttribute("data-theme") === "dark";
    var text = dark ? "Light theme" : "Dark theme";
    if (button.textContent !== text) { button.textContent = text; }
    button.setAttribute("aria-pressed", dark ? "true" : "false");
  }

  function apply(theme) {
    var mode = theme === "dark" ? "dark" : "light";
    document.documentElement.setAttribute("data-theme", mode);
    document.documentElement.setAttribute("data-ag-theme-mode", mode);
    label();
  }

  apply(stored()); // before the shell's first paint

  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("#theme-toggle") : null;
    if (!button) { return; }
    var next = stored() === "dark" ? "light" : "dark";
    try { window.localStorage.setItem(KEY, next); } catch (e) { /* private mode: this page only */ }
    apply(next);
  });

  // the toggle is drawn by Dash after this script ran: give it its label when it appears
  new MutationObserver(label).observe(document.documentElement, { childList: true, subtree: true });
})();
