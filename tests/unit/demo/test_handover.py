"""``dcctl demo seed --live-agent``: the seeded runs in progress are handed to the live
agent, so the demo's agent has nothing to close as "agent lost" at its start (issue 13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import Database

from control.agent.stale import close_runtimes, close_stale_runtimes, running
from control.apps.models import Apps
from control.db import migrate
from control.db.database import init_database
from control.demo.handover import hand_over
from control.demo.seed import seed_demo
from control.enums import RunStatus, RuntimeStatus
from control.runtimes.models import Runtime

NOW = dt.datetime(2025, 1, 15, 12, 0)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = init_database(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    migrate.upgrade(database)
    seed_demo(apps=40, days=1, now=NOW)
    yield database
    database.close()


def agent_start() -> list[str]:
    """What make demo's embedded (exclusive) agent closes when it starts: every RUNNING
    runtime of its apps (it cannot be running them) and every stale one."""
    ids = [a.id for a in Apps.select(Apps.id)]
    closed = close_runtimes(running(app_ids=ids), "agent lost (restarted during the run)")
    return closed + close_stale_runtimes(60, app_ids=ids)


def test_without_hand_over_the_agent_fails_the_seeded_runs(db: Database) -> None:
    """The defect: the demo made its own failures."""
    assert agent_start() != []
    failed = Runtime.select().where(Runtime.error.contains("agent lost")).count()
    assert failed > 0


def test_hand_over_leaves_the_agent_nothing_to_fail(db: Database) -> None:
    live = {r.app_id: r.id for r in Runtime.select().where(Runtime.status == "RUNNING")}
    assert live  # the seed does draw runs in progress
    assert hand_over(NOW) == len(live)
    assert agent_start() == []
    assert Runtime.select().where(Runtime.error.contains("agent lost")).count() == 0
    for app_id, run_id in live.items():
        app = Apps.get_by_id(app_id)
        run = Runtime.get_by_id(run_id)
        assert run.status is RuntimeStatus.STOPPED  # a stop, not a failure
        assert run.ended == NOW
        assert app.run_status is RunStatus.IDLE
        assert app.current_runtime is None
        assert app.last_runtime == run_id
        assert app.next_run == NOW  # due: the live agent starts a real run now
    assert Apps.select().where(Apps.run_status == RunStatus.RUNNING).count() == 0
