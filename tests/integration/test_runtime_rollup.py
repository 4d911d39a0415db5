"""The hourly rollups of the runtimes: the runtime figures of ``GET /activity/stats`` read
from them equal those of the raw runs, for whole and partial hours, before and after
the rollup's mark; a run that finishes, or is closed late, after its start's hour was
rolled counts as it is now, at once and after the rollup's next run; a start or end
committed a little after the time it carries (within ``MARGIN``) counts at once, a later
one on the next run (docs/operations.md)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import pytest

from control.apps.models import Apps
from control.audit import queries
from control.enums import RuntimeStatus
from control.rollups.models import RollupMark
from control.runtimes import rollup
from control.runtimes.models import Runtime, RuntimeEndHour, RuntimeStartHour
from tests.factories import make_app, make_runtime

NOW = dt.datetime(2025, 3, 10, 12, 40)
STATES = (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.STOPPED)
_ids = itertools.count()


def windows(now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """The windows of the dashboard's periods, a window of whole hours, one that ends at
    a partial hour."""
    return [
        (now - dt.timedelta(hours=1), None),
        (now - dt.timedelta(hours=24), None),
        (now - dt.timedelta(days=7), None),
        (dt.datetime(2025, 3, 6, 9), dt.datetime(2025, 3, 9, 17)),
        (dt.datetime(2025, 3, 4, 9, 25), now - dt.timedelta(minutes=50)),
    ]


def answers(now: dt.datetime) -> list[Any]:
    found: list[Any] = [queries.fleet_stats(since)["runtimes"] for since, _ in windows(now)[:3]]
    for since, until in windows(now):
        counts = rollup.counts(since, until)
        found.append((counts.started, sorted(counts.finished.items())))
    return found


def raw_answers(now: dt.datetime) -> list[Any]:
    """The answers without the rollup: its mark gone, every hour is read raw."""
    RollupMark.delete().where(RollupMark.name == rollup.NAME).execute()
    return answers(now)


def run(app: Apps, started: dt.datetime, **fields: Any) -> Runtime:
    return make_runtime(app, id=f"run_{next(_ids):05d}_{app.id}", started=started, **fields)


@pytest.fixture
def runs(db) -> list[Runtime]:
    """400 runs of three apps over the eight days before NOW, at random seconds: most
    ended (COMPLETED, FAILED, STOPPED) up to three hours after they started, those whose
    end would come after NOW still RUNNING, a few closed without an end."""
    rng = random.Random(17)
    apps = [make_app() for _ in range(3)]
    made = []
    for i in range(400):
        started = NOW - dt.timedelta(seconds=rng.randrange(8 * 86_400))
        ended: dt.datetime | None = started + dt.timedelta(seconds=rng.randrange(3 * 3600))
        status = rng.choice(STATES)
        if ended is not None and ended >= NOW:
            status, ended = RuntimeStatus.RUNNING, None
        elif i % 40 == 0:
            ended = None  # closed without an end: counted by its start
        made.append(run(rng.choice(apps), started, status=status, ended=ended))
    return made


def test_runtime_figures_from_the_rollup_equal_the_raw_runs(runs):
    assert rollup.roll_up(NOW) is not None
    assert RuntimeStartHour.select().count() > 0
    assert RuntimeEndHour.select().count() > 0
    rolled = answers(NOW)
    later = NOW + dt.timedelta(minutes=25)  # partial hours at both ends, one past the mark
    rolled_later = answers(later)
    assert rolled == raw_answers(NOW)
    assert rolled_later == raw_answers(later)
    week = rolled[2]
    assert week["started"] > 300  # the week holds most runs
    assert week["completed"] > 50
    assert week["failed"] > 50


def test_a_run_that_finishes_or_is_closed_late_counts_at_once_and_after_the_next_run(db):
    app = make_app()
    # running since an hour the rollup writes, finishes after it ran
    finishing = run(app, NOW - dt.timedelta(hours=3), status=RuntimeStatus.RUNNING, ended=None)
    # silent for two days (before the LOOKBACK), closed by the stale-runtime detection
    stale = run(app, NOW - dt.timedelta(days=2), status=RuntimeStatus.RUNNING, ended=None)
    run(app, NOW - dt.timedelta(days=3), status=RuntimeStatus.FAILED)
    rollup.roll_up(NOW)
    closed_at = NOW + dt.timedelta(minutes=2)
    Runtime.update(status=RuntimeStatus.COMPLETED, ended=closed_at).where(
        Runtime.id == finishing.id
    ).execute()
    Runtime.update(status=RuntimeStatus.FAILED, ended=closed_at).where(
        Runtime.id == stale.id
    ).execute()
    run(app, NOW + dt.timedelta(minutes=3), status=RuntimeStatus.RUNNING, ended=None)

    later = NOW + dt.timedelta(minutes=4)
    in_between = rollup.counts(NOW, later)
    at_once = answers(later)
    rollup.roll_up(later)
    after_the_run = answers(later)
    hour_after = later + dt.timedelta(hours=1, minutes=15)  # the hour of the changes rolled
    rollup.roll_up(hour_after)
    assert rollup.stable_until(RollupMark.get_by_id(rollup.NAME)) == hour_after.replace(minute=0)
    rolled_hours = answers(hour_after)
    assert in_between == rollup.Counts(1, {RuntimeStatus.COMPLETED: 1, RuntimeStatus.FAILED: 1})
    assert at_once[2] == {"started": 4, "completed": 1, "failed": 2}
    assert after_the_run == at_once
    assert at_once == raw_answers(later)
    assert rolled_hours == raw_answers(hour_after)


def assert_one_more(before: rollup.Counts, after: rollup.Counts, status: RuntimeStatus) -> None:
    """``after`` counts one run more than ``before``: started, and finished as ``status``."""
    assert after.started == before.started + 1
    assert after.finished[status] == before.finished[status] + 1


def test_a_start_committed_within_the_margin_into_the_hour_just_rolled_counts_at_once(runs):
    just_after = NOW.replace(minute=3)  # the rollup's run began 3 minutes into the hour
    rollup.roll_up(just_after)
    assert rollup.stable_until(RollupMark.get_by_id(rollup.NAME)) == NOW.replace(hour=11, minute=0)
    since = NOW - dt.timedelta(hours=6)
    counted = rollup.counts(since)
    stamped = just_after - dt.timedelta(minutes=5)  # committed 5 minutes late, before the mark
    run(make_app(), stamped, status=RuntimeStatus.FAILED, ended=stamped + dt.timedelta(seconds=30))
    assert_one_more(counted, rollup.counts(since), RuntimeStatus.FAILED)
    assert answers(just_after) == raw_answers(just_after)


def test_a_run_written_later_than_the_margin_into_a_rolled_hour_counts_on_the_next_run(runs):
    rollup.roll_up(NOW)
    app = make_app()
    since = NOW - dt.timedelta(hours=24)
    counted = rollup.counts(since)
    late = NOW - dt.timedelta(hours=5)  # an agent whose clock lags five hours
    run(app, late, status=RuntimeStatus.COMPLETED, ended=late + dt.timedelta(minutes=1))
    assert rollup.counts(since) == counted  # not yet: its hours are rolled
    rollup.roll_up(NOW + dt.timedelta(minutes=5))  # rewrites the LOOKBACK before the mark
    assert_one_more(counted, rollup.counts(since), RuntimeStatus.COMPLETED)
    assert answers(NOW) == raw_answers(NOW)


def test_rolling_up_again_writes_each_hour_once(runs):
    rollup.roll_up(NOW)
    first = (
        sorted((r.hour, r.runs) for r in RuntimeStartHour.select()),
        sorted((r.hour, r.status, r.runs) for r in RuntimeEndHour.select()),
    )
    rollup.roll_up(NOW + dt.timedelta(minutes=10))
    again = (
        sorted((r.hour, r.runs) for r in RuntimeStartHour.select()),
        sorted((r.hour, r.status, r.runs) for r in RuntimeEndHour.select()),
    )
    assert again == first
    hour = NOW.replace(minute=0)
    assert sum(r[-1] for r in again[0]) == sum(1 for r in runs if r.started < hour)
    finished = [r for r in runs if r.status in rollup.FINISHED]
    assert sum(r[-1] for r in again[1]) == sum(1 for r in finished if (r.ended or r.started) < hour)


def test_nothing_to_roll_up_without_runs(db):
    assert rollup.roll_up(NOW) is None
    assert rollup.counts(NOW - dt.timedelta(days=7)) == rollup.Counts()
