"""Writing audit rows; every write and every authentication event comes through here."""

from __future__ import annotations

import logging
from typing import Any

from peewee import PeeweeException

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


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking field replaced."""
    if isinstance(value, dict):
        return {
            k: REDACTED if is_secret_name(str(k)) and v is not None else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value[:50]]
    if isinstance(value, str) and len(value) > 500:
        return value[:500] + "…"
    return value


def record(
    action: str,
    *,
    outcome: str,
    actor: str = "anonymous",
    actor_type: str = "anonymous",
    role: str | None = None,
    ip: str | None = None,
    method: str | None = None,
    endpoint: str | None = None,
    summary: dict[str, Any] | None = None,
    status: int | None = None,
) -> None:
    """Write one audit row (in its own connection; a failure is logged, never raised)."""
    try:
        with database.connection_context():
            AuditLog.create(
                action=action,
                outcome=outcome,
                actor=actor[:254],
                actor_type=actor_type,
                role=role,
                ip=ip,
                method=method,
                endpoint=(endpoint or "")[:255] or None,
                summary=redact(summary or {}),
                status=status,
                request_id=request_id_var.get() if request_id_var.get() != "-" else None,
            )
    except PeeweeException:
        log.exception("could not write the audit row for %s", action)
