"""The hourly rollups of the runtimes: the runs started per hour (``runtime_start_hour``)
and the finished runs (COMPLETED, FAILED) per hour of their end and status
(``runtime_end_hour``; a finished run without an end counts by its start).

The runtime figures of a week (``GET /activity/stats``) would otherwise count every run
of it twice (by start, and by end and status): about 233,000 runs for a fleet of 10,000
apps (bench/fleet_scale.py). :func:`roll_up` (the ``roll_up_runtimes`` maintenance actor,
every few minutes) rewrites both tables' hours from ``LOOKBACK`` before its mark up to
the current hour, in one transaction, and moves the mark.

A run changes after it is counted (a RUNNING run ends, COMPLETED or FAILED), but not in
the hours it is counted in: its start is written once, when it is claimed, and its end
and final status once, when it finishes (``control.agent.runtimes.finish_run``, also for
a run the stale-runtime detection closes), each stamped with the time it is written and
committed at once. So :func:`counts` reads from the rollup only the whole hours before
the mark that ended ``MARGIN`` before the run that wrote them began, and the raw runs
for the rest: an answer is exact whatever the rollup's age, for every start and end
committed within ``MARGIN`` of the time it carries (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import SQL, Expression, fn

from control.db.database import connected
from control.enums import RuntimeStatus
from control.querying import one_tuple, tuples
from control.rollups import hourly
from control.rollups.models import RollupMark
from control.runtimes.models import Runtime, RuntimeEndHour, RuntimeStartHour

NAME = "runtime_hour"
LOOKBACK = dt.timedelta(hours=24)
# how long after the time it carries a run's start or end may be committed and still be
# counted at once (the writers commit at once; agents' clocks may lag the workers' a bit)
MARGIN = dt.timedelta(minutes=10)
FINISHED = (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED)
"""The final statuses counted by end."""


@dataclass
class Counts:
    """The runs of a window: how many started in it, how many finished in it by status."""

    started: int = 0
    finished: dict[RuntimeStatus, int] = field(default_factory=dict)

    def add_finished(self, status: str, n: int) -> None:
        state = RuntimeStatus(status)
        self.finished[state] = self.finished.get(state, 0) + int(n)


def _finished(ranges: tuple[hourly.OpenRange, ...]) -> tuple[Expression, ...]:
    """The runs finished within ``ranges`` (at least one), as two conditions, each
    answered from an index alone: by end, ``runtime (status, ended)``; by start for the
    runs without an end, the partial index ``runtime_started_open_end``. As one OR they
    would read every run of the ranges."""
    states = Runtime.status.in_(list(FINISHED))
    return (
        states & hourly.in_ranges(Runtime.ended, ranges),
        states & Runtime.ended.is_null() & hourly.in_ranges(Runtime.started, ranges),
    )


def _oldest() -> dt.datetime | None:
    # a run's end comes after its start, but two hosts' clocks may disagree
    first_start, first_end = one_tuple(
        Runtime.select(fn.MIN(Runtime.started), fn.MIN(Runtime.ended))
    )
    found = [t for t in (first_start, first_end) if t is not None]
    return min(found) if found else None


def _rewrite(since: dt.datetime, until: dt.datetime, _before: dt.datetime | None) -> None:
    window: tuple[hourly.OpenRange, ...] = ((since, until),)
    start_hour = hourly.hour_of(Runtime.started)
    end_hour = hourly.hour_of(fn.COALESCE(Runtime.ended, Runtime.started))
    by_end, by_start = _finished(window)
    sums = (
        (
            RuntimeStartHour,
            Runtime.select(start_hour, fn.COUNT(Runtime.id))
            .where(hourly.in_ranges(Runtime.started, window))
            .group_by(start_hour),
            [RuntimeStartHour.hour, RuntimeStartHour.runs],
        ),
        (
            RuntimeEndHour,
            Runtime.select(end_hour, Runtime.status, fn.COUNT(Runtime.id))
            .where(by_end | by_start)
            .group_by(end_hour, Runtime.status),
            [RuntimeEndHour.hour, RuntimeEndHour.status, RuntimeEndHour.runs],
        ),
    )
    for table, rows, columns in sums:
        table.delete().where(table.hour >= since, table.hour < until).execute()
        table.insert_from(rows, columns).execute()


def roll_up(now: dt.datetime | None = None) -> hourly.Range | None:
    """Rewrite the rollups' hours from ``LOOKBACK`` before the mark up to the hour of
    ``now``; move the mark there (:func:`hourly.roll_up`)."""
    return hourly.roll_up(NAME, _rewrite, _oldest, LOOKBACK, now)


def stable_until(mark: RollupMark | None) -> dt.datetime | None:
    """The rolled hours before this hold every run they will ever hold (committed within
    ``MARGIN`` of its time): the mark, or the hour before it when the run that wrote them
    began less than ``MARGIN`` into the mark's hour. None: nothing rolled."""
    if mark is None:
        return None
    return min(mark.rolled_until, hourly.hour_floor(mark.updated - MARGIN))


def counts(since: dt.datetime, until: dt.datetime | None = None) -> Counts:
    """The runs started in ``[since, until)`` and those finished there per final status
    (COMPLETED, FAILED; by end, by start for a run without one); no ``until``: since."""
    found = Counts()
    with connected():
        ranges = hourly.split(stable_until(hourly.mark(NAME)), since, until)
        if ranges.raw:
            raw = Runtime.select(fn.COUNT(SQL("*"))).where(
                hourly.in_ranges(Runtime.started, ranges.raw)
            )
            found.started += int(raw.scalar() or 0)
            for by in _finished(ranges.raw):
                counted = Runtime.select(Runtime.status, fn.COUNT(SQL("*"))).where(by)
                for status, n in tuples(counted.group_by(Runtime.status)):
                    found.add_finished(status, n)
        if ranges.rolled:
            rolled = RuntimeStartHour.select(fn.SUM(RuntimeStartHour.runs)).where(
                hourly.in_ranges(RuntimeStartHour.hour, ranges.rolled)
            )
            found.started += int(rolled.scalar() or 0)
            summed = (
                RuntimeEndHour.select(RuntimeEndHour.status, fn.SUM(RuntimeEndHour.runs))
                .where(hourly.in_ranges(RuntimeEndHour.hour, ranges.rolled))
                .group_by(RuntimeEndHour.status)
            )
            for status, n in tuples(summed):
                found.add_finished(status, n)
    return found
