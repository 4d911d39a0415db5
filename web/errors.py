"""Every error answers in one shape: ``{"error": {"code", "message", "details"}}``.

Falcon's own errors (404, 405, 415, 400 on malformed JSON), ours, the domain's and
unexpected exceptions all pass through here; nothing internal reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon
import falcon.asgi
import peewee

from control import errors as domain
from control.log_context import request_id_var
from web.routing import AsgiApp

log = logging.getLogger(__name__)

CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    411: "LENGTH_REQUIRED",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    428: "PRECONDITION_REQUIRED",
    429: "RATE_LIMITED",
    431: "HEADERS_TOO_LARGE",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

# Messages for Falcon's built-in errors, whose own titles and descriptions can echo
# internals (media handler names, parser messages).
GENERIC: dict[int, str] = {
    400: "The request could not be understood.",
    404: "No such resource.",
    405: "This method is not allowed on this resource.",
    413: "The request body is too large.",
    415: "The request body must be JSON (Content-Type: application/json).",
}


WWW_AUTHENTICATE = 'Bearer realm="data-collector"'


class ApiError(falcon.HTTPError):
    """An HTTP error with the API's machine code and per-field details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, title=message, headers=headers)
        # not ``code``: falcon.HTTPError has an int ``code`` of its own
        self.error_code = code or CODES.get(status, "ERROR")
        self.message = message
        self.details = details or []


def detail(field: str | None, message: str) -> dict[str, Any]:
    """One entry of ``error.details``."""
    return {"field": field, "message": message}


def error_body(
    status: int, code: str, message: str, details: list[dict[str, Any]]
) -> dict[str, Any]:
    """The error envelope (the request id helps operators find the log lines)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "request_id": request_id_var.get(),
        }
    }


def serialize(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon error serializer: always JSON, always the one shape."""
    status = exc.status_code
    if isinstance(exc, ApiError):
        code, message, details = exc.error_code, exc.message, exc.details
    elif isinstance(exc, falcon.MediaMalformedError):
        code, message, details = "MALFORMED_JSON", "The request body is not valid JSON.", []
    elif isinstance(exc, falcon.MediaNotFoundError):
        code, message, details = "BODY_REQUIRED", "A JSON request body is required.", []
    else:
        code = CODES.get(status, "ERROR")
        message = GENERIC.get(status) or exc.title or falcon.code_to_http_status(status)
        details = []
    resp.media = error_body(status, code, message, details)
    resp.content_type = falcon.MEDIA_JSON


# The one mapping of the domain's errors to HTTP: (class, status, code), the most specific
# class first; a code of None is the status's (CODES).
DOMAIN_ERRORS: tuple[tuple[type[domain.ControlError], int, str | None], ...] = (
    (domain.Unauthenticated, 401, None),
    (domain.Forbidden, 403, None),
    (domain.Throttled, 429, None),
    (domain.NotFound, 404, None),
    (domain.Conflict, 409, None),
    (domain.PreconditionFailed, 412, None),
    (domain.InvalidValue, 422, None),
    (domain.InvalidInput, 400, None),
    (domain.Unavailable, 503, None),
)


def domain_status(exc: domain.ControlError) -> tuple[int, str | None]:
    """The status and code ``exc`` answers with (500 for an unmapped one)."""
    return next(((s, c) for t, s, c in DOMAIN_ERRORS if isinstance(exc, t)), (500, None))


async def handle_domain_error(
    req: falcon.asgi.Request,
    resp: falcon.asgi.Response,
    exc: domain.ControlError,
    params: dict[str, Any],
) -> None:
    """Map a domain exception to its status, keeping its message and details."""
    status, code = domain_status(exc)
    if status == 500:
        await handle_unexpected(req, resp, exc, params)
        return
    details = [detail(field, reason) for field, reason in exc.details]
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    elif isinstance(exc, domain.Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    elif status == 503:
        headers["Retry-After"] = "5"
    raise ApiError(status, exc.message, code=code, details=details, headers=headers) from exc


async def handle_unexpected(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: Exception, params: dict[str, Any]
) -> None:
    """Log the traceback server-side; answer 500 with only the request id."""
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise ApiError(
        500, "An internal error occurred. Quote the request id when reporting it."
    ) from exc


async def handle_database_down(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: Exception, params: dict[str, Any]
) -> None:
    """The database refused the connection or the statement (down, restarting, locked):
    503 with Retry-After, like any unavailable part; the cause goes to the log only."""
    log.warning(
        "database unavailable on %s %s: %s",
        req.method,
        req.path,
        type(exc).__name__,
        exc_info=True,
    )
    raise ApiError(
        503,
        "The database is unavailable; retry shortly.",
        headers={"Retry-After": "5"},
    ) from exc


def install(app: AsgiApp) -> None:
    """Register the serializer and the handlers on ``app``."""
    app.set_error_serializer(serialize)
    app.add_error_handler(Exception, handle_unexpected)
    for down in (peewee.OperationalError, peewee.InterfaceError):
        app.add_error_handler(down, handle_database_down)
    app.add_error_handler(domain.ControlError, handle_domain_error)
