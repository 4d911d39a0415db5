"""Hourly rollups: per-hour sums of a large table, rewritten by a scheduled actor, read
back for the whole hours of a window while the raw rows answer the rest.

A rollup job (one module each: ``control/performance/rollup.py``,
``control/pipelines/rollup.py``, ``control/audit/rollup.py``,
``control/runtimes/rollup.py``) names itself (its row in
``rollup_mark``), says how to rewrite its hours ``[since, until)`` from the raw rows and
where its oldest raw row is; :func:`roll_up` runs that in one transaction and moves the
mark. :func:`split` cuts a window into the whole hours before the mark (read from the
rollup) and the rest (the partial hours at its ends and every hour since the mark, read
from the raw rows), so that an answer is complete whatever the rollup's age.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_

from peewee import SQL, ColumnBase, Expression, Node, fn

from control.clock import utcnow
from control.db.database import connected, dialect, locking, write_transaction
from control.querying import time_bucket
from control.rollups.models import RollupMark

HOUR = dt.timedelta(hours=1)

Range = tuple[dt.datetime, dt.datetime]
"""``[since, until)``, naive UTC."""
OpenRange = tuple[dt.datetime, dt.datetime | None]
"""``[since, until)``, naive UTC; no ``until``: everything since."""

Rewrite = Callable[[dt.datetime, dt.datetime, dt.datetime | None], None]
"""Rewrites a rollup's hours ``[since, until)``; the third argument is when the run
before began (None on the first run), for rollups of rows that change."""


def hour_floor(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def hour_ceil(at: dt.datetime) -> dt.datetime:
    floor = hour_floor(at)
    return floor if floor == at else floor + HOUR


def hour_of(field: Node) -> ColumnBase:
    """``field`` truncated to its hour, as a value a rollup's ``hour`` column stores."""
    if dialect() == "sqlite":
        # peewee's own text form of a datetime, so that comparisons with it hold
        return fn.strftime(SQL("'%Y-%m-%d %H:00:00'"), field)
    return time_bucket(field, "hour")


def mark(name: str) -> RollupMark | None:
    """The rollup's mark; None before its first run."""
    with connected():
        found: RollupMark | None = RollupMark.get_or_none(RollupMark.name == name)
    return found


def rolled_until(name: str) -> dt.datetime | None:
    """The rollup's hours before this are written; None before the first run."""
    found = mark(name)
    return None if found is None else found.rolled_until


def roll_up(
    name: str,
    rewrite: Rewrite,
    oldest: Callable[[], dt.datetime | None],
    lookback: dt.timedelta,
    now: dt.datetime | None = None,
) -> Range | None:
    """Rewrite the rollup's hours from ``lookback`` before its mark (the first run: from
    the hour of ``oldest()``) up to the hour of ``now``; move the mark there. Returns the
    hours rewritten, None when there was nothing to roll up.

    One transaction, the mark's row locked first, so that two workers running it at
    once take turns.
    """
    began = now or utcnow()
    until = hour_floor(began)
    with connected(), write_transaction():
        row = locking(RollupMark.select().where(RollupMark.name == name)).first()
        if row is not None:
            since, before = min(row.rolled_until, until) - lookback, row.updated
        else:
            first = oldest()
            if first is None:
                return None
            since, before = hour_floor(first), None
        rewrite(since, until, before)
        if row is None:
            RollupMark.create(name=name, rolled_until=until, updated=began)
        else:
            RollupMark.update(rolled_until=until, updated=began).where(
                RollupMark.name == name
            ).execute()
    return since, until


@dataclass(frozen=True)
class Split:
    """A window cut into the ranges read from the rollup and those read raw."""

    rolled: tuple[Range, ...]
    raw: tuple[OpenRange, ...]

    def without(self, hours: Iterable[dt.datetime]) -> Split:
        """The same window with these rolled hours read raw instead (rows that changed
        since the rollup wrote them)."""
        rolled, raw = list(self.rolled), list[OpenRange](self.raw)
        for hour in sorted(set(hours)):
            for i, (a, b) in enumerate(rolled):
                if a <= hour < b:
                    rolled[i : i + 1] = [r for r in ((a, hour), (hour + HOUR, b)) if r[0] < r[1]]
                    raw.append((hour, hour + HOUR))
                    break
        return Split(tuple(rolled), tuple(raw))


def split(rolled_to: dt.datetime | None, since: dt.datetime, until: dt.datetime | None) -> Split:
    """``[since, until)`` (no ``until``: everything since) cut at whole hours: those
    before ``rolled_to`` (a rollup's mark) from the rollup, the partial hours at the ends
    and every hour since the mark raw."""
    first = hour_ceil(since)
    last = rolled_to if until is None or rolled_to is None else min(hour_floor(until), rolled_to)
    if last is None or first >= last:
        return Split((), ((since, until),))
    raw: list[OpenRange] = []
    if since < first:
        raw.append((since, first))
    if until is None or last < until:
        raw.append((last, until))
    return Split(((first, last),), tuple(raw))


def in_ranges(field: ColumnBase, ranges: Sequence[OpenRange]) -> Expression:
    """``field`` within any of ``ranges`` (each ``[since, until)``, at least one)."""
    return reduce(
        or_, ((field >= a) if b is None else (field >= a) & (field < b) for a, b in ranges)
    )
