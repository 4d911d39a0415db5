// ReDoc against our own document, with the bundled fonts only.
window.addEventListener("load", function () {
  Redoc.init("/api/openapi.json", { hideDownloadButton: false, disableSearch: false },
    document.getElementById("redoc"));
});
