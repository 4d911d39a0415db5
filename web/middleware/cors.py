"""CORS from an explicit allowlist, enforced on the server too.

Browsers enforce CORS only on what they let scripts read; a foreign page can still
send a simple POST. So besides answering preflights, a state-changing request whose
``Origin`` is not allowed is refused here (403), and a refused preflight gets no grant.

WebSockets are not covered by CORS at all: a page from any origin may open one with the
user's cookies. A handshake with an ``Origin`` that is neither listed nor the API's own
host is refused before the socket opens (the client sees HTTP 403). Requests from the
API's own origin (its Swagger UI) are same-origin, not cross-origin: never refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import falcon
import falcon.asgi

from web.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOW_HEADERS = "Authorization, Content-Type, X-API-Key, X-Request-ID, Idempotency-Key, If-Match"
EXPOSE_HEADERS = (
    "X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
    "Retry-After, ETag, Location"
)


def _same_origin(req: falcon.asgi.Request, origin: str) -> bool:
    """A page the API serves itself (Swagger UI's "Try it out"): not cross-origin at all.

    A browser sets ``Host`` itself and a foreign page cannot change it, so an ``Origin``
    naming the host the request was sent to is the API's own page.
    """
    host = (req.get_header("Host") or "").lower()
    return bool(host) and urlsplit(origin).netloc.lower() == host


class CorsMiddleware:
    """Grants CORS to listed origins only; refuses cross-origin writes from others."""

    def __init__(self, origins: list[str], api_key_header: str = "X-API-Key") -> None:
        self.origins = frozenset(o.rstrip("/") for o in origins)
        self.allow_headers = ALLOW_HEADERS.replace("X-API-Key", api_key_header)

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        origin = req.get_header("Origin")
        if origin is None:
            return
        allowed = origin.rstrip("/") in self.origins
        preflight = req.method == "OPTIONS" and req.get_header("Access-Control-Request-Method")
        if preflight:
            if not allowed:
                raise ApiError(403, "This origin is not allowed.", code="ORIGIN_NOT_ALLOWED")
            resp.set_header("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
            resp.set_header("Access-Control-Allow-Headers", self.allow_headers)
            resp.set_header("Access-Control-Max-Age", "600")
            resp.status = falcon.HTTP_204
            resp.complete = True
        elif not allowed and req.method not in SAFE_METHODS and not _same_origin(req, origin):
            raise ApiError(403, "This origin is not allowed.", code="ORIGIN_NOT_ALLOWED")

    async def process_request_ws(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        origin = req.get_header("Origin")
        if origin is None or origin.rstrip("/") in self.origins:
            return
        if _same_origin(req, origin):
            return
        await ws.close(4403)  # before accept(): the handshake is answered with HTTP 403
        raise falcon.WebSocketDisconnected(4403)  # Falcon stops here, quietly

    async def process_response(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        origin = req.get_header("Origin")
        resp.append_header("Vary", "Origin")
        if origin is not None and origin.rstrip("/") in self.origins:
            resp.set_header("Access-Control-Allow-Origin", origin)
            resp.set_header("Access-Control-Expose-Headers", EXPOSE_HEADERS)
