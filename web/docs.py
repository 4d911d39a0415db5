"""The OpenAPI document and its two readers, Swagger UI and ReDoc, served locally."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon
import falcon.asgi

from control import __version__
from web.openapi import build_document
from web.permissions import PUBLIC, allow
from web.routing import AsgiApp

STATIC_DIR = Path(__file__).with_name("static")
STATIC_PREFIX = "/api/static"

# The viewers inject styles and run a search worker from a blob; nothing leaves 'self'.
DOCS_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; font-src 'self' data:; frame-ancestors 'none'"
)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="data:,">
  {head}
</head>
<body>
  <div id="{root}"></div>
  <script src="{static}/vendor/{bundle}"></script>
  <script src="{static}/docs/{init}"></script>
</body>
</html>
"""

SWAGGER_PAGE = PAGE.format(
    title="Data Collector Control API",
    head=f'<link rel="stylesheet" href="{STATIC_PREFIX}/vendor/swagger-ui/swagger-ui.css">',
    root="swagger-ui",
    static=STATIC_PREFIX,
    bundle="swagger-ui/swagger-ui-bundle.js",
    init="swagger-init.js",
)
REDOC_PAGE = PAGE.format(
    title="Data Collector Control API",
    head="",
    root="redoc",
    static=STATIC_PREFIX,
    bundle="redoc/redoc.standalone.js",
    init="redoc-init.js",
)

TITLE = "Data Collector Control API"


class OpenApiResource:
    """``/api/openapi.json``: built once from the app's routes, then cached."""

    def __init__(self, app: AsgiApp, api_key_header: str = "X-API-Key") -> None:
        self._app = app
        self._api_key_header = api_key_header
        self._document: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = build_document(
                self._app, title=TITLE, version=__version__, api_key_header=self._api_key_header
            )
        return self._document

    @allow(PUBLIC)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = self.document()


class DocsPageResource:
    """An HTML page that loads a bundled viewer for the document."""

    def __init__(self, html: str) -> None:
        self._html = html

    @allow(PUBLIC)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self._html
        resp.set_header("Content-Security-Policy", DOCS_CSP)


def install(app: AsgiApp, api_key_header: str = "X-API-Key") -> None:
    """Route the document, both viewers and their static assets."""
    app.add_route("/api/openapi.json", OpenApiResource(app, api_key_header))
    app.add_route("/api/docs", DocsPageResource(SWAGGER_PAGE))
    app.add_route("/api/redoc", DocsPageResource(REDOC_PAGE))
    app.add_static_route(STATIC_PREFIX, str(STATIC_DIR))
