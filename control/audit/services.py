"""The one writer of audit rows: every write and every authentication event comes here.

:func:`write` adds the row to the caller's transaction (no row, no change: an error
propagates); :func:`record` writes it on its own connection and only logs a failure.
Both take the :class:`~control.audit.context.AuditContext` of the request or job, and
mark it recorded once the row is committed.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict, Unpack

from peewee import PeeweeException

from control.audit.context import Actor, AuditContext
from control.audit.models import AuditLog
from control.db.database import database
from control.log_context import request_id_var

log = logging.getLogger(__name__)

SECRET_WORDS = ("password", "secret", "token", "authorization", "credential", "apikey")
REDACTED = "[redacted]"


def is_secret_name(name: str) -> bool:
    """Whether a field of this name holds a secret (``key_id`` does not; ``api_key`` does)."""
    lowered = name.lower().replace("-", "_")
    if lowered.endswith("_id"):
        return False
    return (
        lowered in ("key", "pass", "pwd")
        or lowered.endswith("_key")
        or any(word in lowered for word in SECRET_WORDS)
    )


def redact(value: Any, *, clip: bool = True) -> Any:
    """A copy of ``value`` with every secret-looking field replaced.

    ``clip`` (for audit rows) also cuts lists to 50 items and strings to 500 characters;
    without it only the secrets change (an app's settings shown to a non-admin).
    """
    if isinstance(value, dict):
        return {
            k: REDACTED if is_secret_name(str(k)) and v is not None else redact(v, clip=clip)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, clip=clip) for v in (value[:50] if clip else value)]
    if clip and isinstance(value, str) and len(value) > 500:
        return value[:500] + "…"
    return value


def _request_id(context: AuditContext) -> str | None:
    if context.request_id is not None:
        return context.request_id
    current = request_id_var.get()
    return current if current != "-" else None


class RowOptions(TypedDict, total=False):
    """What a row may say beyond its context and action."""

    outcome: str  # "success" (the default) or "failure"
    details: dict[str, Any] | None  # over the request's summary
    status: int | None  # the answer's status; the context's for a success
    actor: Actor | None  # who did it, when not the context's actor
    with_request: bool  # False: ``details`` only, without the request's summary


def row_fields(context: AuditContext, action: str, **options: Unpack[RowOptions]) -> dict[str, Any]:
    """The columns of one row: the context's, ``details`` over the request's summary
    (``with_request=False`` keeps only ``details``), secrets redacted."""
    outcome = options.get("outcome", "success")
    details = options.get("details") or {}
    who = options.get("actor") or context.actor
    summary = {**context.summary, **details} if options.get("with_request", True) else dict(details)
    status = options.get("status")
    if status is None and outcome == "success":
        status = context.status
    return {
        "action": action[:64],
        "outcome": outcome,
        "actor": who.subject[:254],
        "actor_type": who.kind,
        "role": who.role,
        "ip": context.ip,
        "method": context.method,
        "endpoint": (context.endpoint or "")[:255] or None,
        "summary": redact(summary),
        "status": status,
        "request_id": _request_id(context),
    }


def _mark(context: AuditContext) -> None:
    context.recorded = True


def write(context: AuditContext, action: str, **options: Unpack[RowOptions]) -> AuditLog:
    """Add the row to the current transaction; errors propagate (no row, no change)."""
    row = AuditLog.create(**row_fields(context, action, **options))
    database.after_commit(lambda: _mark(context))  # now, outside a transaction
    return row


def write_many(
    context: AuditContext, action: str, details: list[dict[str, Any]], *, batch: int = 100
) -> None:
    """:func:`write` for many rows of one action (one per ``details``), in multi-row
    INSERTs of ``batch`` rows, in the current transaction."""
    rows = [row_fields(context, action, details=detail) for detail in details]
    for start in range(0, len(rows), batch):
        AuditLog.insert_many(rows[start : start + batch]).execute()
    if rows:
        database.after_commit(lambda: _mark(context))


def record(context: AuditContext, action: str, **options: Unpack[RowOptions]) -> None:
    """Write the row on its own connection; a failure is logged, never raised."""
    try:
        with database.connection_context():
            write(context, action, **options)
    except PeeweeException:
        log.exception("could not write the audit row for %s", action)
