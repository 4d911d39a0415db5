"""The last N log records matching a live-log filter, as ``log.entry`` events.

A log viewer opened in the middle of a run asks for them when it subscribes, so it is
not blank until the next record. The rows come from the log query of
``control.logs.services`` (same glob and level semantics as the live filter).
"""

from __future__ import annotations

import datetime as dt

from control.db.database import database
from control.events.types import Event, EventType
from control.logs.services import LogQuery, list_logs

MAX_RECORDS = 500


def recent_log_events(app: str | None, level: int | None, count: int) -> list[Event]:
    """Up to ``count`` (≤ 500) latest records matching, oldest first (blocking)."""
    count = max(0, min(count, MAX_RECORDS))
    if count == 0:
        return []
    with database.connection_context():
        rows, _ = list_logs(LogQuery(app=app, level=level, limit=count))
    events = []
    for row in reversed(rows):
        moment = row["timestamp"]
        if isinstance(moment, dt.datetime) and moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        events.append(Event(EventType.LOG_ENTRY, row, moment))
    return events
