"""Recording runs: runtime ids and outcomes, FATAL after N failures, next_run, stale runs."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from control.agent.context import Counts
from control.agent.runtimes import claim_run, finish_run
from control.agent.stale import LOST, close_stale_runtimes
from control.apps.models import Apps
from control.apps.schedule import next_fire
from control.clock import utcnow
from control.enums import FatalFlag, RunStatus, RuntimeStatus
from control.logs.models import Logs
from control.runtimes.models import Runtime
from tests.factories import make_app, make_runtime


def _counts(current=None, total=None, solved=0, failed=0) -> Counts:
    return Counts(current, total, solved, failed, 1)


def _app(app_id: str) -> Apps:
    return Apps.get_by_id(app_id)


def test_a_claim_creates_the_runtime_and_marks_the_app_running(db):
    app = make_app(schedule="30 7 * * *", timezone="Europe/Berlin")
    claim = claim_run(app.id, "command", "host-1")
    assert re.fullmatch(rf"\d{{8}}_\d{{6}}_{app.id}", claim.runtime_id)
    runtime = Runtime.get_by_id(claim.runtime_id)
    assert runtime.id == f"{runtime.started:%Y%m%d_%H%M%S}_{app.id}"
    assert (runtime.status, runtime.trigger, runtime.host) == (
        RuntimeStatus.RUNNING,
        "command",
        "host-1",
    )
    row = _app(app.id)
    assert (row.run_status, row.current_runtime, row.progress_current) == (
        RunStatus.RUNNING,
        claim.runtime_id,
        0,
    )
    # next_run: the cron's next fire in the app's time zone, stored as naive UTC
    assert row.next_run == next_fire("30 7 * * *", "Europe/Berlin", runtime.started)
    local = row.next_run.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert (local.hour, local.minute) in ((7, 30), (8, 30))  # CET or CEST


def test_one_run_per_app_at_a_time(db):
    app = make_app()
    first = claim_run(app.id, "schedule", "a")
    assert first is not None
    assert claim_run(app.id, "command", "b") is None  # running (here or on another agent)
    finish_run(first.runtime_id, app.id, RuntimeStatus.COMPLETED, None, None, fatal_after=3)
    second = claim_run(app.id, "command", "b")
    assert second is not None
    assert second.runtime_id != first.runtime_id  # unique even within the same second


@pytest.mark.parametrize("flag", ["disabled", "fatal"])
def test_disabled_and_fatal_apps_do_not_run(db, flag):
    fields = {"disabled": True} if flag == "disabled" else {"fatal_flag": FatalFlag.FATAL}
    app = make_app(**fields)
    assert claim_run(app.id, "command", "a") is None
    assert Runtime.select().count() == 0


def test_a_completed_run_records_counts_and_resets_failures(db):
    app = make_app(consecutive_failures=2)
    claim = claim_run(app.id, "schedule", "a")
    outcome = finish_run(
        claim.runtime_id,
        app.id,
        RuntimeStatus.COMPLETED,
        None,
        _counts(current=10, total=10, solved=9, failed=1),
        fatal_after=3,
    )
    assert outcome.status is RuntimeStatus.COMPLETED
    runtime = Runtime.get_by_id(claim.runtime_id)
    assert (runtime.records_total, runtime.records_solved, runtime.records_failed) == (10, 9, 1)
    assert runtime.ended is not None
    assert runtime.error is None
    row = _app(app.id)
    assert (row.run_status, row.current_runtime, row.last_runtime) == (
        RunStatus.IDLE,
        None,
        claim.runtime_id,
    )
    assert row.consecutive_failures == 0
    assert (row.progress_current, row.progress_total) == (10, 10)
    # finishing twice (a late thread after a forced stop) changes nothing
    assert (
        finish_run(claim.runtime_id, app.id, RuntimeStatus.FAILED, "x", None, fatal_after=3) is None
    )
    assert Runtime.get_by_id(claim.runtime_id).status is RuntimeStatus.COMPLETED


def test_an_app_turns_fatal_after_n_consecutive_failures(db):
    app = make_app()
    for attempt in range(1, 4):
        claim = claim_run(app.id, "schedule", "a")
        assert claim is not None
        outcome = finish_run(
            claim.runtime_id,
            app.id,
            RuntimeStatus.FAILED,
            "RuntimeError: down",
            None,
            fatal_after=3,
        )
        row = _app(app.id)
        assert row.consecutive_failures == attempt
        assert row.run_status is RunStatus.FAILED
        assert outcome.fatal is (attempt == 3)
    assert row.fatal_flag is FatalFlag.FATAL
    assert row.fatal_reason == "3 consecutive failures; last error: RuntimeError: down"
    assert row.next_run is None
    assert Runtime.get_by_id(claim.runtime_id).error == "RuntimeError: down"
    assert claim_run(app.id, "command", "a") is None


def test_a_stopped_run_keeps_the_failure_count(db):
    app = make_app(consecutive_failures=1)
    claim = claim_run(app.id, "command", "a")
    finish_run(claim.runtime_id, app.id, RuntimeStatus.STOPPED, None, None, fatal_after=3)
    row = _app(app.id)
    assert (row.run_status, row.consecutive_failures) == (RunStatus.IDLE, 1)
    assert Runtime.get_by_id(claim.runtime_id).status is RuntimeStatus.STOPPED


def test_a_run_longer_than_its_interval_does_not_catch_up(db):
    app = make_app(schedule="*/5 * * * *", next_run=utcnow() - dt.timedelta(hours=1))
    claim = claim_run(app.id, "schedule", "a")
    Apps.update(next_run=utcnow() - dt.timedelta(minutes=1)).where(Apps.id == app.id).execute()
    finish_run(claim.runtime_id, app.id, RuntimeStatus.COMPLETED, None, None, fatal_after=3)
    assert utcnow() < _app(app.id).next_run <= utcnow() + dt.timedelta(minutes=5)


def test_a_failed_service_is_restarted_after_a_delay(db):
    app = make_app(schedule=None, is_service=True)
    claim = claim_run(app.id, "command", "a")
    assert _app(app.id).next_run is None
    finish_run(claim.runtime_id, app.id, RuntimeStatus.FAILED, "boom", None, fatal_after=3)
    assert utcnow() < _app(app.id).next_run <= utcnow() + dt.timedelta(seconds=20)
    claim = claim_run(app.id, "schedule", "a")
    finish_run(claim.runtime_id, app.id, RuntimeStatus.STOPPED, None, None, fatal_after=3)
    assert _app(app.id).next_run is None  # stopped by an operator: stays stopped


def test_stale_runtimes_are_closed_as_failed(db):
    now = utcnow()
    quiet = make_app(group="de")
    alive = make_app(group="de")
    elsewhere = make_app(group="fr")
    runs = {}
    for app, beat in ((quiet, 300), (alive, 5), (elsewhere, 300)):
        claim = claim_run(app.id, "schedule", "gone-host")
        Runtime.update(heartbeat=now - dt.timedelta(seconds=beat), records_solved=7).where(
            Runtime.id == claim.runtime_id
        ).execute()
        runs[app.id] = claim.runtime_id
    closed = close_stale_runtimes(dt.timedelta(seconds=60), groups=["de"], fatal_after=3)
    assert closed == [runs[quiet.id]]
    lost = Runtime.get_by_id(runs[quiet.id])
    assert (lost.status, lost.error, lost.records_solved) == (RuntimeStatus.FAILED, LOST, 7)
    assert lost.ended is not None
    row = _app(quiet.id)
    assert (row.run_status, row.current_runtime, row.consecutive_failures) == (
        RunStatus.FAILED,
        None,
        1,
    )
    assert Logs.select().where(Logs.runtime == lost.id, Logs.level == 40).exists()
    for app in (alive, elsewhere):
        assert Runtime.get_by_id(runs[app.id]).status is RuntimeStatus.RUNNING
    assert close_stale_runtimes(60, fatal_after=3) == [runs[elsewhere.id]]  # every group


def test_a_runtime_that_never_beat_is_judged_by_its_start(db):
    app = make_app()
    old = make_runtime(
        app,
        started=utcnow() - dt.timedelta(hours=2),
        status=RuntimeStatus.RUNNING,
        ended=None,
        heartbeat=None,
    )
    Apps.update(run_status=RunStatus.RUNNING, current_runtime=old.id).where(
        Apps.id == app.id
    ).execute()
    assert close_stale_runtimes(60, fatal_after=3) == [old.id]
    assert _app(app.id).run_status is RunStatus.FAILED
