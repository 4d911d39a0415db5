"""The hourly rollup of the function log: per function name and hour, sums of the calls.

The fleet-wide trends (``GET /performance/functions/trends`` without ``app``) would
otherwise aggregate every call of the window: 2,000,000 rows for 30 days of a fleet of
10,000 apps (bench/fleet_scale.py). :func:`roll_up` (the ``roll_up_functions``
maintenance actor, every few minutes) rewrites the ``function_hour`` rows of the
complete hours from ``LOOKBACK`` before its mark up to the current hour, in one
transaction, and moves the mark (``rollup_mark``) to the current hour: calls that
arrive up to ``LOOKBACK`` late are counted on the next run.

:func:`hourly_sums` answers a window from the rollup for its whole hours before the
mark and from the raw rows for the rest (the partial hours at its ends and everything
since the mark), so an answer is always complete and exact; only a call written more
than ``LOOKBACK`` after it started, into an hour already rolled, is missing from the
rollup (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import fn

from control.db.database import connected
from control.performance.models import FunctionHour, FunctionLog
from control.querying import bucket_start, time_bucket, tuples
from control.rollups import hourly

NAME = "function_hour"
LOOKBACK = dt.timedelta(hours=24)


def rolled_until() -> dt.datetime | None:
    """The rollup's mark: its hours before it are written; None before the first run."""
    return hourly.rolled_until(NAME)


def _oldest() -> dt.datetime | None:
    oldest: dt.datetime | None = FunctionLog.select(fn.MIN(FunctionLog.started)).scalar()
    return oldest


def _sums() -> list[Any]:
    """A bucket's figures from the function log, in the order of :meth:`Sums.add`'s
    arguments (and of ``FunctionHour``'s columns)."""
    return [
        fn.COUNT(FunctionLog.id),
        fn.SUM(FunctionLog.runtime_seconds),
        fn.MAX(FunctionLog.runtime_seconds),
        fn.SUM(FunctionLog.task_size),
        fn.SUM(FunctionLog.solved),
        fn.SUM(FunctionLog.failed),
    ]


def _rewrite(since: dt.datetime, until: dt.datetime, _before: dt.datetime | None) -> None:
    FunctionHour.delete().where(FunctionHour.hour >= since, FunctionHour.hour < until).execute()
    hour = hourly.hour_of(FunctionLog.started)
    sums = (
        FunctionLog.select(
            hour,
            FunctionLog.function_name,
            *_sums(),
        )
        .where(FunctionLog.started >= since, FunctionLog.started < until)
        .group_by(hour, FunctionLog.function_name)
    )
    FunctionHour.insert_from(
        sums,
        [
            FunctionHour.hour,
            FunctionHour.function_name,
            FunctionHour.calls,
            FunctionHour.runtime_sum,
            FunctionHour.runtime_max,
            FunctionHour.task_size,
            FunctionHour.solved,
            FunctionHour.failed,
        ],
    ).execute()


def roll_up(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime] | None:
    """Rewrite the rollup's hours from ``LOOKBACK`` before the mark (the first run: from
    the oldest call) up to the hour of ``now``; move the mark there. Returns the hours
    rewritten, None when there was nothing to roll up (:func:`hourly.roll_up`)."""
    return hourly.roll_up(NAME, _rewrite, _oldest, LOOKBACK, now)


@dataclass
class Sums:
    """What a bucket adds up to: averages come from these at the end."""

    calls: int = 0
    runtime_sum: float = 0.0
    runtime_max: float | None = None
    task_size: int = 0
    solved: int = 0
    failed: int = 0

    def add(self, calls: Any, runtime: Any, top: Any, size: Any, solved: Any, failed: Any) -> None:
        self.calls += int(calls)
        self.runtime_sum += float(runtime or 0)
        if top is not None:
            self.runtime_max = (
                float(top) if self.runtime_max is None else max(self.runtime_max, float(top))
            )
        self.task_size += int(size or 0)
        self.solved += int(solved or 0)
        self.failed += int(failed or 0)


def _raw(bucket: str, ranges: hourly.Split, function_name: str | None) -> Any:
    start = time_bucket(FunctionLog.started, bucket)
    query = FunctionLog.select(
        FunctionLog.function_name,
        start,
        *_sums(),
    ).where(hourly.in_ranges(FunctionLog.started, ranges.raw))
    if function_name is not None:
        query = query.where(FunctionLog.function_name == function_name)
    return query.group_by(FunctionLog.function_name, start)


def _rolled(bucket: str, ranges: hourly.Split, function_name: str | None) -> Any:
    start = time_bucket(FunctionHour.hour, bucket)
    query = FunctionHour.select(
        FunctionHour.function_name,
        start,
        fn.SUM(FunctionHour.calls),
        fn.SUM(FunctionHour.runtime_sum),
        fn.MAX(FunctionHour.runtime_max),
        fn.SUM(FunctionHour.task_size),
        fn.SUM(FunctionHour.solved),
        fn.SUM(FunctionHour.failed),
    ).where(hourly.in_ranges(FunctionHour.hour, ranges.rolled))
    if function_name is not None:
        query = query.where(FunctionHour.function_name == function_name)
    return query.group_by(FunctionHour.function_name, start)


def hourly_sums(
    bucket: str, since: dt.datetime, until: dt.datetime, function_name: str | None = None
) -> dict[tuple[str, dt.datetime], Sums]:
    """Per (function name, bucket start) of ``bucket`` ('hour' or 'day'), the sums of
    the calls started in ``[since, until)`` of every app."""
    found: dict[tuple[str, dt.datetime], Sums] = {}
    with connected():
        ranges = hourly.split(rolled_until(), since, until)
        queries = [_raw(bucket, ranges, function_name)] if ranges.raw else []
        if ranges.rolled:
            queries.append(_rolled(bucket, ranges, function_name))
        for query in queries:
            for name, start, *figures in tuples(query):
                found.setdefault((name, bucket_start(start)), Sums()).add(*figures)
    return found
