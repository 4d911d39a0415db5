"""The hourly rollups of the audit log: the activity figures read from them equal those
of the raw audit rows, for whole and partial hours, before and after the rollup's mark,
and rows written late into a rolled hour count on the next run."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from control.audit import queries, rollup
from control.audit.models import AuditActionHour, AuditActorHour, AuditLog
from control.rollups.models import RollupMark

NOW = dt.datetime(2025, 3, 10, 12, 40)
ACTIONS = (
    ("apps.start", "success"),
    ("apps.stop", "denied"),
    ("auth.login", "success"),
    ("auth.login_failed", "failed"),
    ("auth.service_failed", "failed"),
    ("settings.update", "error"),
)
ACTORS = ("alice", "bob", "carol", "dave", "erin", "frank", "gina", "Zed", "ci-deployer")
SINCE = [
    NOW - dt.timedelta(hours=1),
    NOW - dt.timedelta(hours=24),
    NOW - dt.timedelta(days=7),
    dt.datetime(2025, 3, 6, 9),  # a whole hour
]


def figures() -> list[dict[str, Any]]:
    return [queries.activity_stats(since) for since in SINCE]


def raw_figures() -> list[dict[str, Any]]:
    """The figures without the rollups: their mark gone, every hour is read raw."""
    RollupMark.delete().where(RollupMark.name == rollup.NAME).execute()
    return figures()


def write(rng: random.Random, at: dt.datetime) -> None:
    action, outcome = rng.choice(ACTIONS)
    AuditLog.create(at=at, actor=rng.choice(ACTORS), action=action, outcome=outcome)


@pytest.fixture
def rows(db) -> None:
    """600 audit rows over the ten days before NOW, at random seconds."""
    rng = random.Random(5)
    for _ in range(600):
        write(rng, NOW - dt.timedelta(seconds=rng.randrange(10 * 86_400)))


def test_activity_figures_from_the_rollups_equal_the_raw_rows(rows):
    assert rollup.roll_up(NOW) is not None
    assert AuditActionHour.select().count() > 0
    assert AuditActorHour.select().count() > 0
    rolled = figures()
    assert rolled == raw_figures()
    assert rolled[2]["total"] > 300
    assert len(rolled[2]["top_actors"]) == queries.TOP_ACTORS


def test_rows_since_the_mark_count_at_once_and_late_rows_on_the_next_run(rows):
    rng = random.Random(6)
    rollup.roll_up(NOW - dt.timedelta(hours=3))  # the mark three hours back
    write(rng, NOW - dt.timedelta(minutes=50))  # after the mark
    write(rng, NOW - dt.timedelta(hours=6, minutes=10))  # late, into a rolled hour
    since = NOW - dt.timedelta(hours=24)
    rolled_total = queries.activity_stats(since)["total"]
    rollup.roll_up(NOW)  # rewrites the last LOOKBACK hours before the old mark
    assert queries.activity_stats(since)["total"] == rolled_total + 1
    assert figures() == raw_figures()


def test_top_actors_break_ties_by_name_in_the_database(db):
    for n, actor in enumerate(("erin", "Zed", "bob", "alice", "ci-deployer", "dave")):
        for minutes in range(2 if n < 4 else 1):
            AuditLog.create(
                at=NOW - dt.timedelta(hours=5, minutes=minutes),
                actor=actor,
                action="apps.start",
                outcome="success",
            )
    since = NOW - dt.timedelta(hours=24)
    raw = queries.activity_stats(since)["top_actors"]
    rollup.roll_up(NOW)
    assert queries.activity_stats(since)["top_actors"] == raw
    assert [a["count"] for a in raw] == [2, 2, 2, 2, 1]


def test_rolling_up_again_writes_each_hour_once(rows):
    rollup.roll_up(NOW)
    first = sorted((r.hour, r.actor, r.rows) for r in AuditActorHour.select())
    rollup.roll_up(NOW + dt.timedelta(minutes=10))
    again = sorted((r.hour, r.actor, r.rows) for r in AuditActorHour.select())
    assert again == first
    before_mark = AuditLog.select().where(AuditLog.at < NOW.replace(minute=0)).count()
    assert sum(r[-1] for r in again) == before_mark
    assert sum(r.rows for r in AuditActionHour.select()) == before_mark


def test_nothing_to_roll_up_without_rows(db):
    assert rollup.roll_up(NOW) is None
