"""The spec's security headers on every response, errors included, and no caching."""

from __future__ import annotations

import falcon.asgi

HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
DEFAULT_CSP = "default-src 'self'; frame-ancestors 'none'"
STATIC_PREFIX = "/api/static/"


class SecurityHeadersMiddleware:
    """Adds the headers after everything else has run, so no response escapes them."""

    async def process_response(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        resp.set_headers(HEADERS)
        if resp.get_header("Content-Security-Policy") is None:  # docs pages set their own
            resp.set_header("Content-Security-Policy", DEFAULT_CSP)
        if req.path.startswith(STATIC_PREFIX) and req_succeeded:
            resp.set_header("Cache-Control", "public, max-age=3600")
        else:
            resp.set_header("Cache-Control", "no-store")
            resp.set_header("Pragma", "no-cache")
