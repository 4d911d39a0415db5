"""Retention: delete rows older than the configured number of days, in bounded batches.

Each batch selects at most ``batch`` primary keys and deletes them in a transaction of
its own, so a write lock (SQLite) or row locks (PostgreSQL) are held for one short
statement at a time and writers in other processes never wait long. Batches also stay
under MSSQL's 2,100-parameter limit.
"""

from __future__ import annotations

import datetime as dt
import logging

from peewee import Expression, Field

from control.db.database import connected, database
from control.db.models import BaseModel, FunctionLog, Logs, utcnow
from control.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_BATCH = 1000


def purge_older_than(
    model: type[BaseModel],
    timestamp_field: Field,
    cutoff: dt.datetime,
    batch: int = DEFAULT_BATCH,
    *,
    where: Expression | None = None,
) -> int:
    """Delete ``model`` rows whose ``timestamp_field`` is before ``cutoff``; how many.

    ``where`` narrows the rows further (e.g. only finished deliveries).
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    key = model._meta.primary_key
    condition = timestamp_field < cutoff
    if where is not None:
        condition = condition & where
    removed = 0
    with connected():
        while True:
            ids = [
                row[0]
                for row in model.select(key).where(condition).order_by(key).limit(batch).tuples()
            ]
            if not ids:
                break
            with database.atomic():
                removed += model.delete().where(key.in_(ids)).execute()
            if len(ids) < batch:
                break
    return removed


def _days_ago(days: int, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=days)


def run_retention(
    settings: Settings, *, now: dt.datetime | None = None, batch: int = DEFAULT_BATCH
) -> dict[str, int]:
    """Apply every retention rule of ``settings``; rows deleted per table."""
    from control.auth.models import RefreshToken
    from control.auth.revocation import purge_expired
    from control.notifications.models import DeliveryStatus, NotificationDelivery
    from control.system.metrics import SystemMetric

    now = now or utcnow()
    finished = NotificationDelivery.status.in_([DeliveryStatus.SENT, DeliveryStatus.FAILED])
    removed = {
        "logs": purge_older_than(
            Logs, Logs.timestamp, _days_ago(settings.retention_logs_days, now), batch
        ),
        "function_logs": purge_older_than(
            FunctionLog,
            FunctionLog.started,
            _days_ago(settings.retention_function_logs_days, now),
            batch,
        ),
        "system_metrics": purge_older_than(
            SystemMetric,
            SystemMetric.at,
            _days_ago(settings.retention_metrics_days, now),
            batch,
        ),
        # a delivery still queued or sending is left to the requeue sweep, however old
        "notification_deliveries": purge_older_than(
            NotificationDelivery,
            NotificationDelivery.created,
            _days_ago(settings.retention_deliveries_days, now),
            batch,
            where=finished,
        ),
        "refresh_tokens": purge_older_than(RefreshToken, RefreshToken.expires, now, batch),
    }
    with connected():
        removed["revoked_tokens"] = purge_expired(batch)
    log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in removed.items()))
    return removed
