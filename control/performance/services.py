"""Reading function logs: newest-first pages, the slowest functions, an app's history
and trends in time buckets.

Every figure is aggregated in SQL (GROUP BY function and app, or function and time
bucket through :func:`control.querying.time_bucket`); Python only rounds and shapes.
Windows are ``[since, until)``: ``from`` inclusive, ``to`` exclusive, naive UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from peewee import ColumnBase, ModelSelect, fn

from control.apps.models import Apps
from control.clock import utcnow
from control.errors import InvalidInput, NotFound
from control.performance import rollup
from control.performance.models import FunctionLog
from control.performance.slowest import slowest_rows
from control.querying import (
    PERIODS,
    bucket_start,
    keyset_page,
    time_bucket,
    tuples,
    where_given,
    within,
)

# newest first; the id breaks ties between calls started in the same instant
ORDER = ((FunctionLog.started, True), (FunctionLog.id, True))

# the default look-back and the longest window for each bucket size
BUCKET_DEFAULT = {"hour": dt.timedelta(hours=24), "day": dt.timedelta(days=30)}
BUCKET_MAX = {"hour": dt.timedelta(days=31), "day": dt.timedelta(days=366)}


@dataclass(frozen=True)
class LogFilter:
    """The list filters; None means 'any'."""

    app: str | None = None
    function_name: str | None = None
    since: dt.datetime | None = None  # inclusive, naive UTC
    until: dt.datetime | None = None  # exclusive, naive UTC


def item(row: FunctionLog) -> dict[str, Any]:
    """One function log entry."""
    return {
        "id": row.id,
        "app_id": row.app,
        "runtime_id": row.runtime,
        "function_name": row.function_name,
        "module": row.module,
        "started": row.started,
        "runtime_seconds": row.runtime_seconds,
        "task_size": row.task_size,
        "solved": row.solved,
        "failed": row.failed,
    }


def _check_order(since: dt.datetime | None, until: dt.datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidInput("'from' must be before 'to'", field="from")


def _filtered(f: LogFilter) -> ModelSelect[FunctionLog]:
    _check_order(f.since, f.until)
    query = where_given(
        FunctionLog.select(), {FunctionLog.app: f.app, FunctionLog.function_name: f.function_name}
    )
    return within(query, FunctionLog.started, f.since, f.until)


def list_logs(
    f: LogFilter, after: Sequence[Any] | None, limit: int
) -> tuple[list[dict[str, Any]], tuple[Any, ...] | None]:
    """One page of function logs, newest first, after the row key ``after``."""
    rows, key = keyset_page(_filtered(f), ORDER, after, limit, key=("functions", f))
    return [item(r) for r in rows], key


def _round(value: Any, digits: int) -> float | None:
    # PostgreSQL averages integers as numeric (Decimal); JSON wants a float
    return None if value is None else round(float(value), digits)


def resolve_window(
    period: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    now: dt.datetime | None = None,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``period`` (before ``now``) or ``from``/``to`` as given; not both."""
    if period is not None:
        if since is not None or until is not None:
            raise InvalidInput("give either 'period' or 'from'/'to', not both", field="period")
        until = now or utcnow()
        return until - PERIODS[period], until
    _check_order(since, until)
    return since, until


def slowest(
    n: int = 10, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The ``n`` slowest (function, app) pairs by average runtime in ``[since, until)``.

    Ties on the average go to the higher maximum, then by name and app. Averages of
    runtime are rounded to 0.001 s, of task size to 0.1. Only the pairs that can make
    the list are aggregated (:mod:`control.performance.slowest`).
    """
    rows = slowest_rows(n, since, until)
    return [
        {
            "function_name": function_name,
            "app_id": app_id,
            "avg_runtime_seconds": _round(avg, 3),
            "max_runtime_seconds": float(top),
            "avg_task_size": _round(avg_size, 1),
            "total_calls": int(calls),
        }
        for function_name, app_id, avg, top, avg_size, calls in rows
    ]


def bucket_window(
    bucket: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    now: dt.datetime | None = None,
) -> tuple[dt.datetime, dt.datetime]:
    """The ``[since, until)`` of a bucketed series: ``to`` defaults to now, ``from`` to
    a day (hour buckets) or 30 days (day buckets) before it; at most 31 / 366 days."""
    until = until or now or utcnow()
    since = since or until - BUCKET_DEFAULT[bucket]
    _check_order(since, until)
    if until - since > BUCKET_MAX[bucket]:
        raise InvalidInput(
            f"{bucket} buckets cover at most {BUCKET_MAX[bucket].days} days", field="from"
        )
    return since, until


def _bucketed(
    bucket: str, since: dt.datetime, until: dt.datetime
) -> tuple[ColumnBase, ModelSelect[FunctionLog]]:
    start = time_bucket(FunctionLog.started, bucket)
    query = FunctionLog.select(
        FunctionLog.function_name,
        start,
        fn.COUNT(FunctionLog.id),
        fn.SUM(FunctionLog.task_size),
        fn.SUM(FunctionLog.solved),
        fn.SUM(FunctionLog.failed),
        fn.AVG(FunctionLog.runtime_seconds),
        fn.MAX(FunctionLog.runtime_seconds),
    ).where(FunctionLog.started >= since, FunctionLog.started < until)
    return start, query


def _point(row: tuple[Any, ...]) -> dict[str, Any]:
    function_name, start, calls, size, solved, failed, avg, top = row
    return {
        "function_name": function_name,
        "bucket": bucket_start(start),
        "calls": int(calls),
        "task_size": int(size or 0),
        "solved": int(solved or 0),
        "failed": int(failed or 0),
        "avg_runtime_seconds": _round(avg, 3),
        "max_runtime_seconds": float(top),
    }


def trends(
    bucket: str,
    since: dt.datetime,
    until: dt.datetime,
    app: str | None = None,
    function_name: str | None = None,
) -> list[dict[str, Any]]:
    """Per function name and time bucket in ``[since, until)``: calls, summed task size,
    solved and failed, average and maximum runtime. Buckets without calls are absent.

    Fleet-wide (no ``app``) the whole hours come from the hourly rollup
    (:mod:`control.performance.rollup`), the rest from the calls themselves.
    """
    if app is None:
        sums = rollup.hourly_sums(bucket, since, until, function_name)
        return [
            {
                "function_name": name,
                "bucket": start,
                "calls": s.calls,
                "task_size": s.task_size,
                "solved": s.solved,
                "failed": s.failed,
                "avg_runtime_seconds": _round(s.runtime_sum / s.calls, 3),
                "max_runtime_seconds": s.runtime_max or 0.0,
            }
            for (name, start), s in sorted(sums.items())
        ]
    start, query = _bucketed(bucket, since, until)
    if app is not None:
        query = query.where(FunctionLog.app == app)
    if function_name is not None:
        query = query.where(FunctionLog.function_name == function_name)
    rows = tuples(
        query.group_by(FunctionLog.function_name, start).order_by(
            FunctionLog.function_name.asc(), start.asc()
        )
    )
    return [_point(row) for row in rows]


def history(
    app_id: str,
    bucket: str,
    since: dt.datetime,
    until: dt.datetime,
    function_name: str | None = None,
) -> dict[str, Any]:
    """One app's functions in ``[since, until)``: totals per function and its buckets.

    NotFound when the app neither exists nor has ever logged a call.
    """
    known = (
        Apps.select(Apps.id).where(Apps.id == app_id).exists()
        or FunctionLog.select(FunctionLog.id).where(FunctionLog.app == app_id).exists()
    )
    if not known:
        raise NotFound(f"No app with id {app_id!r}.")
    mine = FunctionLog.app == app_id
    if function_name is not None:
        mine &= FunctionLog.function_name == function_name
    totals = tuples(
        FunctionLog.select(
            FunctionLog.function_name,
            fn.COUNT(FunctionLog.id),
            fn.AVG(FunctionLog.runtime_seconds),
            fn.MAX(FunctionLog.runtime_seconds),
            fn.AVG(FunctionLog.task_size),
            fn.SUM(FunctionLog.solved),
            fn.SUM(FunctionLog.failed),
        )
        .where(mine, FunctionLog.started >= since, FunctionLog.started < until)
        .group_by(FunctionLog.function_name)
        .order_by(FunctionLog.function_name.asc())
    )
    functions: dict[str, dict[str, Any]] = {}
    for name, calls, avg, top, avg_size, solved, failed in totals:
        functions[name] = {
            "function_name": name,
            "total_calls": int(calls),
            "avg_runtime_seconds": _round(avg, 3),
            "max_runtime_seconds": float(top),
            "avg_task_size": _round(avg_size, 1),
            "solved": int(solved or 0),
            "failed": int(failed or 0),
            "points": [],
        }
    start, query = _bucketed(bucket, since, until)
    rows = tuples(
        query.where(mine)
        .group_by(FunctionLog.function_name, start)
        .order_by(FunctionLog.function_name.asc(), start.asc())
    )
    for row in rows:
        point = _point(row)
        functions[point.pop("function_name")]["points"].append(point)
    return {
        "app_id": app_id,
        "bucket": bucket,
        "since": since,
        "until": until,
        "functions": list(functions.values()),
    }
