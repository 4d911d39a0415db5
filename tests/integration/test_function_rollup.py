"""The hourly rollup of the function log: fleet-wide trends read from it give exactly the
figures of the raw calls, for whole and partial hours, before and after the rollup's
mark, and calls that arrive late are counted on the next run."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import pytest

from control.performance import rollup, services
from control.performance.models import FunctionHour
from tests.factories import make_app, make_function_log

NOW = dt.datetime(2025, 3, 10, 12, 40)
FUNCTIONS = ("fetch", "parse", "save")


def bucket_of(at: dt.datetime, bucket: str) -> dt.datetime:
    hour = at.replace(minute=0, second=0, microsecond=0)
    return hour if bucket == "hour" else hour.replace(hour=0)


def by_hand(
    rows: list[tuple[str, dt.datetime, float, int, int, int]],
    bucket: str,
    since: dt.datetime,
    until: dt.datetime,
    function_name: str | None = None,
) -> list[dict[str, Any]]:
    """The trend points worked out from the calls themselves."""
    groups: dict[tuple[str, dt.datetime], list[Any]] = defaultdict(list)
    for name, started, seconds, size, solved, failed in rows:
        if since <= started < until and function_name in (None, name):
            groups[(name, bucket_of(started, bucket))].append((seconds, size, solved, failed))
    return [
        {
            "function_name": name,
            "bucket": start,
            "calls": len(calls),
            "task_size": sum(c[1] for c in calls),
            "solved": sum(c[2] for c in calls),
            "failed": sum(c[3] for c in calls),
            "avg_runtime_seconds": round(sum(c[0] for c in calls) / len(calls), 3),
            "max_runtime_seconds": max(c[0] for c in calls),
        }
        for (name, start), calls in sorted(groups.items())
    ]


@pytest.fixture
def calls(db):
    """300 calls of three apps over the two days before NOW, at random minutes."""
    rng = random.Random(7)
    apps = [make_app() for _ in range(3)]
    rows = []
    for _ in range(300):
        started = NOW - dt.timedelta(seconds=rng.randrange(2 * 86_400))
        row = (
            rng.choice(FUNCTIONS),
            started,
            rng.randint(1, 120) * 0.25,  # exact in binary: every sum is exact
            rng.randint(1, 500),
            rng.randint(0, 400),
            rng.randint(0, 20),
        )
        name, _, seconds, size, solved, failed = row
        make_function_log(
            rng.choice(apps),
            function_name=name,
            started=started,
            runtime_seconds=seconds,
            task_size=size,
            solved=solved,
            failed=failed,
        )
        rows.append(row)
    return rows


WINDOWS = [
    ("hour", NOW - dt.timedelta(hours=24), NOW),  # partial hours at both ends
    ("hour", dt.datetime(2025, 3, 9, 3), dt.datetime(2025, 3, 9, 15)),  # whole hours
    ("day", NOW - dt.timedelta(days=2), NOW),
    ("day", dt.datetime(2025, 3, 8, 17, 25), dt.datetime(2025, 3, 10, 12, 5)),
]


@pytest.mark.parametrize(("bucket", "since", "until"), WINDOWS)
def test_trends_from_the_rollup_equal_the_raw_calls(calls, bucket, since, until):
    assert rollup.roll_up(NOW) is not None
    assert rollup.rolled_until() == dt.datetime(2025, 3, 10, 12)
    assert FunctionHour.select().count() > 0
    assert services.trends(bucket, since, until) == by_hand(calls, bucket, since, until)
    assert services.trends(bucket, since, until, function_name="parse") == by_hand(
        calls, bucket, since, until, "parse"
    )


def test_trends_before_any_rollup_read_the_raw_calls(calls):
    since, until = NOW - dt.timedelta(days=2), NOW
    assert rollup.rolled_until() is None
    assert services.trends("day", since, until) == by_hand(calls, "day", since, until)


def test_calls_since_the_mark_count_at_once_and_late_calls_on_the_next_run(calls):
    app = make_app()
    rollup.roll_up(NOW - dt.timedelta(hours=3))  # the mark three hours back
    since, until = NOW - dt.timedelta(hours=24), NOW

    recent = ("fetch", NOW - dt.timedelta(minutes=90), 2.5, 10, 9, 1)  # after the mark
    late = ("save", NOW - dt.timedelta(hours=6, minutes=10), 99.0, 7, 7, 0)  # a rolled hour
    for name, started, seconds, size, solved, failed in (recent, late):
        make_function_log(
            app,
            function_name=name,
            started=started,
            runtime_seconds=seconds,
            task_size=size,
            solved=solved,
            failed=failed,
        )
    without_late = by_hand([*calls, recent], "hour", since, until)
    assert services.trends("hour", since, until) == without_late

    rollup.roll_up(NOW)  # rewrites the last LOOKBACK hours before the old mark
    assert services.trends("hour", since, until) == by_hand(
        [*calls, recent, late], "hour", since, until
    )


def test_rolling_up_again_writes_each_hour_once(calls):
    rollup.roll_up(NOW)
    first = sorted((r.hour, r.function_name, r.calls) for r in FunctionHour.select())
    rollup.roll_up(NOW)
    rollup.roll_up(NOW + dt.timedelta(minutes=10))
    again = sorted((r.hour, r.function_name, r.calls) for r in FunctionHour.select())
    assert again == first
    rolled = [c for c in calls if c[1] < dt.datetime(2025, 3, 10, 12)]  # before the mark
    assert sum(c for _, _, c in again) == len(rolled)


def test_nothing_to_roll_up_without_calls(db):
    assert rollup.roll_up(NOW) is None
    assert rollup.rolled_until() is None
