"""The last few runs of each of a page of apps, in ONE query (the grid's run strip).

A window function numbers each app's runs newest first (``ROW_NUMBER() OVER (PARTITION BY
app_id ORDER BY started DESC, id DESC)``) and the outer query keeps the first ``per_app``,
so a page of 100 apps costs one round trip on the ``(app_id, started)`` index instead of
100. SQLite (3.25+) and PostgreSQL both have window functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from peewee import fn

from control.clock import utcnow
from control.enums import RuntimeStatus
from control.querying import python_value, tuples
from control.runtimes.models import Runtime

MAX_APPS = 100  # one grid page
MAX_PER_APP = 50


def _duration(
    started: dt.datetime, ended: dt.datetime | None, status: Any, now: dt.datetime
) -> float | None:
    if ended is not None:
        return (ended - started).total_seconds()
    if status == RuntimeStatus.RUNNING:
        return (now - started).total_seconds()
    return None


def recent_runs(app_ids: Sequence[str], per_app: int) -> dict[str, list[dict[str, Any]]]:
    """``{app_id: [run, ...]}`` newest first, at most ``per_app`` runs each; every asked id
    is a key (an app without runs, or unknown, has an empty list)."""
    wanted = list(dict.fromkeys(app_ids))
    result: dict[str, list[dict[str, Any]]] = {app_id: [] for app_id in wanted}
    if not wanted:
        return result
    rank = fn.ROW_NUMBER().over(
        partition_by=[Runtime.app], order_by=[Runtime.started.desc(), Runtime.id.desc()]
    )
    ranked = (
        Runtime.select(
            Runtime.id, Runtime.app, Runtime.started, Runtime.ended, Runtime.status, rank.alias("n")
        )
        .where(Runtime.app.in_(wanted))
        .alias("ranked")
    )
    rows = tuples(
        Runtime.select(
            ranked.c.id, ranked.c.app_id, ranked.c.started, ranked.c.ended, ranked.c.status
        )
        .from_(ranked)
        .where(ranked.c.n <= per_app)
        .order_by(ranked.c.app_id, ranked.c.n)
    )
    now = utcnow()
    status_field = Runtime.status
    for run_id, app_id, started, ended, status in rows:
        # the outer query reads raw columns: convert them as the model fields would
        started = python_value(Runtime.started, started)
        ended = python_value(Runtime.ended, ended)
        status = status_field.python_value(status)
        result[app_id].append(
            {
                "id": run_id,
                "started": started,
                "ended": ended,
                "status": status,
                "duration_seconds": _duration(started, ended, status, now),
            }
        )
    return result
