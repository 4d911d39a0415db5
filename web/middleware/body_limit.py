"""Request body limit (``DC_MAX_BODY_BYTES``, 10 MB by default) → 413."""

from __future__ import annotations

import falcon
import falcon.asgi

from web.errors import ApiError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyLimitMiddleware:
    """Refuses bodies over the limit before anything reads them."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        length = req.content_length
        if length is not None:
            if length > self.max_bytes:
                raise ApiError(
                    413,
                    f"The request body exceeds {self.max_bytes} bytes.",
                )
            return
        if req.method in BODY_METHODS and req.get_header("Transfer-Encoding"):
            # A streamed body of unknown size cannot be bounded before reading it.
            raise ApiError(411, "Content-Length is required for request bodies.")
