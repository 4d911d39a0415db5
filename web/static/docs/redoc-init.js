// ReDoc against our own document, with the bundled fonts only.
//
// ReDoc 2.x always renders a "Redocly" logo in the sidebar footer from
// https://cdn.redoc.ly/; the page's CSP (img-src 'self' data:) blocks it, which
// leaves a CSP violation in the console. Swap that one URL for an empty inline
// image before ReDoc renders, so nothing is requested off the machine.
(function () {
  var REMOTE = "https://cdn.redoc.ly/";
  var BLANK = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";
  function local(value) {
    return typeof value === "string" && value.indexOf(REMOTE) === 0 ? BLANK : value;
  }
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && String(name).toLowerCase() === "src") {
      value = local(value);
    }
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) { src.set.call(this, local(value)); },
  });
})();

window.addEventListener("load", function () {
  Redoc.init("/api/openapi.json", { hideDownloadButton: false, disableSearch: false },
    document.getElementById("redoc"));
});
