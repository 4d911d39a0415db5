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


def configure_logging(level: str = "INFO") -> None:
    """Install the common handler on the root logger (idempotent)."""
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
