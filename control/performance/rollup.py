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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from peewee import SQL, ColumnBase, Node, fn

from control.clock import utcnow
from control.db.database import connected, dialect, locking, write_transaction
from control.performance.models import FunctionHour, FunctionLog, RollupMark
from control.querying import bucket_start, time_bucket, tuples

NAME = "function_hour"
LOOKBACK = dt.timedelta(hours=24)
HOUR = dt.timedelta(hours=1)


def hour_floor(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def hour_ceil(at: dt.datetime) -> dt.datetime:
    floor = hour_floor(at)
    return floor if floor == at else floor + HOUR


def _hour_of(field: Node) -> ColumnBase:
    """``field`` truncated to its hour, as a value the column ``hour`` stores."""
    if dialect() == "sqlite":
        # peewee's own text form of a datetime, so that comparisons with it hold
        return fn.strftime(SQL("'%Y-%m-%d %H:00:00'"), field)
    return time_bucket(field, "hour")


def rolled_until() -> dt.datetime | None:
    """The rollup's mark: its hours before it are written; None before the first run."""
    with connected():
        mark = RollupMark.get_or_none(RollupMark.name == NAME)
    return None if mark is None else mark.rolled_until


def roll_up(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime] | None:
    """Rewrite the rollup's hours from ``LOOKBACK`` before the mark (the first run: from
    the oldest call) up to the hour of ``now``; move the mark there. Returns the hours
    rewritten, None when there was nothing to roll up.

    One transaction, the mark's row locked first, so that two workers running it at
    once take turns.
    """
    until = hour_floor(now or utcnow())
    with connected(), write_transaction():
        mark = locking(RollupMark.select().where(RollupMark.name == NAME)).first()
        if mark is not None:
            since = min(mark.rolled_until, until) - LOOKBACK
        else:
            oldest = FunctionLog.select(fn.MIN(FunctionLog.started)).scalar()
            if oldest is None:
                return None
            since = hour_floor(oldest)
        FunctionHour.delete().where(FunctionHour.hour >= since, FunctionHour.hour < until).execute()
        hour = _hour_of(FunctionLog.started)
        sums = (
            FunctionLog.select(
                hour,
                FunctionLog.function_name,
                fn.COUNT(FunctionLog.id),
                fn.SUM(FunctionLog.runtime_seconds),
                fn.MAX(FunctionLog.runtime_seconds),
                fn.SUM(FunctionLog.task_size),
                fn.SUM(FunctionLog.solved),
                fn.SUM(FunctionLog.failed),
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
        if mark is None:
            RollupMark.create(name=NAME, rolled_until=until, updated=utcnow())
        else:
            RollupMark.update(rolled_until=until, updated=utcnow()).where(
                RollupMark.name == NAME
            ).execute()
    return since, until


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


def _raw(bucket: str, since: dt.datetime, until: dt.datetime, function_name: str | None) -> Any:
    start = time_bucket(FunctionLog.started, bucket)
    query = FunctionLog.select(
        FunctionLog.function_name,
        start,
        fn.COUNT(FunctionLog.id),
        fn.SUM(FunctionLog.runtime_seconds),
        fn.MAX(FunctionLog.runtime_seconds),
        fn.SUM(FunctionLog.task_size),
        fn.SUM(FunctionLog.solved),
        fn.SUM(FunctionLog.failed),
    ).where(FunctionLog.started >= since, FunctionLog.started < until)
    if function_name is not None:
        query = query.where(FunctionLog.function_name == function_name)
    return query.group_by(FunctionLog.function_name, start)


def _rolled(bucket: str, since: dt.datetime, until: dt.datetime, function_name: str | None) -> Any:
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
    ).where(FunctionHour.hour >= since, FunctionHour.hour < until)
    if function_name is not None:
        query = query.where(FunctionHour.function_name == function_name)
    return query.group_by(FunctionHour.function_name, start)


def _pieces(
    bucket: str, since: dt.datetime, until: dt.datetime, function_name: str | None
) -> Iterator[Any]:
    """The queries whose sums make up ``[since, until)``: the rollup for its whole hours
    before the mark, the raw rows for the rest."""
    mark = rolled_until()
    first, last = hour_ceil(since), min(hour_floor(until), mark) if mark else None
    if last is None or first >= last:
        yield _raw(bucket, since, until, function_name)
        return
    if since < first:
        yield _raw(bucket, since, first, function_name)
    yield _rolled(bucket, first, last, function_name)
    if last < until:
        yield _raw(bucket, last, until, function_name)


def hourly_sums(
    bucket: str, since: dt.datetime, until: dt.datetime, function_name: str | None = None
) -> dict[tuple[str, dt.datetime], Sums]:
    """Per (function name, bucket start) of ``bucket`` ('hour' or 'day'), the sums of
    the calls started in ``[since, until)`` of every app."""
    found: dict[tuple[str, dt.datetime], Sums] = {}
    with connected():
        for query in _pieces(bucket, since, until, function_name):
            for name, start, *figures in tuples(query):
                found.setdefault((name, bucket_start(start)), Sums()).add(*figures)
    return found
