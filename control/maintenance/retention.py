"""Retention: delete rows older than the configured number of days, in bounded batches.

Each batch selects at most ``batch`` primary keys and deletes them in a transaction of
its own, so a write lock (SQLite) or row locks (PostgreSQL) are held for one short
statement at a time and writers in other processes never wait long. Batches also stay
under MSSQL's 2,100-parameter limit.

One run is bounded too: past ``until`` (a ``time.monotonic()`` deadline, the actor's
:data:`SLICE`) it stops between batches and the next scheduled run carries on, so no
message's work nears RabbitMQ's ``consumer_timeout`` (a redelivery would then run the
same purge twice at once).

On PostgreSQL ``logs`` and ``function_log`` are partitioned by time (migration 0018,
``control.maintenance.partitions``): their partitions wholly past retention are dropped
first, a catalogue change instead of millions of deletes; the batched ``DELETE`` then
removes the older rows left in the partition that straddles the cut-off and in the
default partition. SQLite and SQL Server delete every old row in batches.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from peewee import Expression, Field

from control.auth.models import RefreshToken
from control.clock import utcnow
from control.db.base import BaseModel
from control.db.database import connected, give_writers_a_turn, write_transaction
from control.logs.models import Logs
from control.maintenance import partitions
from control.notifications.models import DeliveryStatus, NotificationDelivery
from control.performance.models import FunctionHour, FunctionLog
from control.querying import primary_key, tuples
from control.settings import Settings
from control.system.models import SystemMetric

log = logging.getLogger(__name__)

DEFAULT_BATCH = 1000
SLICE_SECONDS = 5 * 60  # one run's share; the actor's time limit is twice this


def _past(until: float | None) -> bool:
    return until is not None and time.monotonic() >= until


def purge_older_than(
    model: type[BaseModel],
    timestamp_field: Field,
    cutoff: dt.datetime,
    batch: int = DEFAULT_BATCH,
    *,
    where: Expression | None = None,
    until: float | None = None,
) -> int:
    """Delete ``model`` rows whose ``timestamp_field`` is before ``cutoff``; how many.

    ``where`` narrows the rows further (e.g. only finished deliveries); past ``until``
    (monotonic) no further batch starts.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    key = primary_key(model)
    condition = timestamp_field < cutoff
    if where is not None:
        condition = condition & where
    removed = 0
    with connected():
        while not _past(until):
            ids = [
                row[0]
                for row in tuples(model.select(key).where(condition).order_by(key).limit(batch))
            ]
            if not ids:
                break
            with write_transaction():
                # the condition again: on a partitioned table it limits the delete to the
                # partitions that can hold such rows
                removed += model.delete().where(key.in_(ids) & condition).execute()
            if len(ids) < batch:
                break
            give_writers_a_turn()  # on SQLite, a command or an ingest waiting goes next
    return removed


def _days_ago(days: int, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=days)


def run_retention(
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    batch: int = DEFAULT_BATCH,
    until: float | None = None,
) -> dict[str, int]:
    """Apply every retention rule of ``settings``; rows deleted per table. Past
    ``until`` (monotonic) it stops between batches: the next run carries on."""
    from control.auth.revocation import purge_expired

    now = now or utcnow()
    logs_cutoff = _days_ago(settings.retention_logs_days, now)
    function_logs_cutoff = _days_ago(settings.retention_function_logs_days, now)
    with connected():
        # whole partitions past retention first (PostgreSQL; logged there; a no-op elsewhere)
        partitions.drop_partitions_before(partitions.LOGS, logs_cutoff)
        partitions.drop_partitions_before(partitions.FUNCTION_LOG, function_logs_cutoff)
    finished = NotificationDelivery.status.in_([DeliveryStatus.SENT, DeliveryStatus.FAILED])
    removed = {
        "logs": purge_older_than(Logs, Logs.timestamp, logs_cutoff, batch, until=until),
        "function_logs": purge_older_than(
            FunctionLog, FunctionLog.started, function_logs_cutoff, batch, until=until
        ),
        "function_hours": purge_older_than(
            FunctionHour,
            FunctionHour.hour,
            _days_ago(settings.retention_function_logs_days, now),
            batch,
            until=until,
        ),
        "system_metrics": purge_older_than(
            SystemMetric,
            SystemMetric.at,
            _days_ago(settings.retention_metrics_days, now),
            batch,
            until=until,
        ),
        # a delivery still queued or sending is left to the requeue sweep, however old
        "notification_deliveries": purge_older_than(
            NotificationDelivery,
            NotificationDelivery.created,
            _days_ago(settings.retention_deliveries_days, now),
            batch,
            where=finished,
            until=until,
        ),
        "refresh_tokens": purge_older_than(
            RefreshToken, RefreshToken.expires, now, batch, until=until
        ),
    }
    with connected():
        removed["revoked_tokens"] = 0 if _past(until) else purge_expired(batch)
    if _past(until):
        log.info("retention: stopped at its time slice; the next run carries on")
    log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in removed.items()))
    return removed
