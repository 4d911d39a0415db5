"""``X-Request-ID``: accepted when sane, generated otherwise, echoed, and logged."""

from __future__ import annotations

import logging
import re
import secrets
import time

import falcon.asgi

from control.log_context import request_id_var

HEADER = "X-Request-ID"
SANE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

access_log = logging.getLogger("web.access")
ACCESS_LINE = "%s %s %d %.1fms"


class RequestIdMiddleware:
    """Gives every request an id, puts it in the log context and the response."""

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        offered = req.get_header(HEADER)
        request_id = offered if offered and SANE.match(offered) else secrets.token_hex(16)
        req.context.request_id = request_id
        req.context.started = time.perf_counter()
        request_id_var.set(request_id)
        resp.set_header(HEADER, request_id)

    async def process_response(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        request_id = getattr(req.context, "request_id", None)
        if request_id:
            resp.set_header(HEADER, request_id)
        started = getattr(req.context, "started", None)
        elapsed_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        # The path only: query strings can carry things that must not be logged.
        if access_log.isEnabledFor(logging.INFO):
            # what Logger.info does but for looking up the caller's file and line (a walk
            # up the stack on every request), which the line's format does not show
            args = (req.method, req.path, resp.status_code, elapsed_ms)
            access_log.handle(
                access_log.makeRecord(
                    access_log.name, logging.INFO, __file__, 0, ACCESS_LINE, args, None
                )
            )
