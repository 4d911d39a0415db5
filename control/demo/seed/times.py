"""Time helpers of the demo seed: offsets, cron fire times, log-uniform draws.

Every timestamp is naive UTC like every other column; offsets are seconds after a run's
start, written to the millisecond.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from zoneinfo import ZoneInfo

from croniter import croniter

from control.clock import naive_utc, utcnow


def seed_time(now: dt.datetime | None) -> dt.datetime:
    """The moment the fleet is drawn at: ``now`` (or the clock) as naive UTC, whole seconds."""
    return (naive_utc(now) or utcnow()).replace(microsecond=0)


def at(base: dt.datetime, seconds: float) -> dt.datetime:
    """``base`` plus ``seconds``, to the millisecond."""
    return base + dt.timedelta(milliseconds=round(seconds * 1000))


def secs(later: dt.datetime, earlier: dt.datetime) -> float:
    """Seconds from ``earlier`` to ``later``."""
    return (later - earlier).total_seconds()


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _cron(schedule: str, tz: str, start: dt.datetime) -> croniter:
    return croniter(schedule, start.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz)))


def fires(schedule: str, tz: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The cron's fire times in (start, end), as naive UTC."""
    it = _cron(schedule, tz, start)
    out: list[dt.datetime] = []
    while True:
        fire = _utc(it.get_next(dt.datetime))
        if fire >= end:
            return out
        if not out or fire > out[-1]:  # a DST change can repeat a local time
            out.append(fire)


@functools.cache
def next_run(schedule: str, tz: str, now: dt.datetime) -> dt.datetime:
    """The cron's first fire time after ``now``, as naive UTC."""
    return _utc(_cron(schedule, tz, now).get_next(dt.datetime))


@functools.cache
def runs_per_day(schedule: str, tz: str) -> float:
    """How often the cron fires on an average day (over one week)."""
    start = dt.datetime(2024, 1, 1)
    return len(fires(schedule, tz, start, start + dt.timedelta(days=7))) / 7


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    """A draw between ``low`` and ``high`` whose logarithm is uniform."""
    ratio: float = (high / low) ** rng.random()  # float ** float is typed Any
    return low * ratio
