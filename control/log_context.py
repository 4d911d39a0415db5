"""Process logging: one format everywhere, with the request id in every line.

The id lives in a context variable that the web middleware sets per request and the
workers set per message, so every log line written while handling it carries it.
"""

from __future__ import annotations

import contextvars
import logging
import sys

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

# Control characters in user-supplied text could forge extra log lines.
_UNSAFE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in [*range(32), *range(0x7F, 0xA0), 0x2028, 0x2029]
    if code != 9
}


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every record, and neutralises line breaks."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = record.msg.translate(_UNSAFE)
        return True


class QueryStringFilter(logging.Filter):
    """Cuts the query string off the request targets in uvicorn's log records.

    uvicorn logs the target with its query (``"WebSocket /api/v1/ws/logs?token=..."
    [accepted]`` on ``uvicorn.error``, each request on ``uvicorn.access``), and a client
    may wrongly put a credential there. The same rule as ops/gunicorn.conf.py's filter
    (which imports no project code), for every other way the API is served.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(
                arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in args
            )
        return True


SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")
# One line per HTTP request: the API's (web/middleware/request_id.py) and the dashboard's
# development server. DC_ACCESS_LOG_LEVEL=WARNING silences them (the demo's terminal).
ACCESS_LOGGERS = ("web.access", "werkzeug")


def configure_logging(level: str = "INFO", access_level: str | None = None) -> None:
    """Install the common handler on the root logger (idempotent), and the query-string
    filter on the server's loggers; ``access_level``, when given, is the level of the
    per-request access loggers."""
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        if not any(isinstance(f, QueryStringFilter) for f in server_logger.filters):
            server_logger.addFilter(QueryStringFilter())
    if access_level is not None:
        for name in ACCESS_LOGGERS:
            logging.getLogger(name).setLevel(access_level)
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_dc_handler", False):
            root.setLevel(level)
            return
    handler = logging.StreamHandler(sys.stderr)
    handler._dc_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # peewee logs every statement with its parameters at DEBUG: hashes would reach logs
    logging.getLogger("peewee").setLevel(max(logging.INFO, root.level))
