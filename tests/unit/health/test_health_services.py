"""The baseline kept at each run's end (through ``finish_run``), the verdicts recorded and
published, the evaluator, the notification rule and the reading side."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from peewee import Database

from control.agent.runtimes import finish_run
from control.apps.models import Apps
from control.clock import utcnow
from control.enums import FatalFlag, RunStatus, RuntimeStatus
from control.events.publish import install, uninstall
from control.events.types import Event, EventType
from control.health import services
from control.health.models import AppBaseline, HealthVerdict
from control.health.verdicts import Thresholds
from control.notifications.models import Severity
from control.notifications.rules import from_bus
from control.runtimes.models import Runtime
from tests.factories import make_app

LIMITS = Thresholds(
    slow_factor=1.5,
    low_output_factor=0.5,
    stalled_seconds=30,
    missed_grace_seconds=60,
    min_runs=3,
    heartbeat_live_seconds=30,
    fatal_after=3,
)


class RecordingBus:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def publish(self, event: Event) -> bool:
        with self._lock:
            self.events.append(event)
        return True

    def health(self) -> list[tuple[str, str]]:
        return [
            (e.data["verdict"], e.data["state"])
            for e in self.events
            if e.type is EventType.APP_HEALTH_CHANGED
        ]


@pytest.fixture
def bus() -> Iterator[RecordingBus]:
    recording = RecordingBus()
    install(recording)  # type: ignore[arg-type]
    yield recording
    uninstall(recording)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "thresholds", lambda: LIMITS)
    monkeypatch.setattr(services, "baseline_runs", lambda: 4)


def start(app: Apps, seconds_ago: float, n: int) -> str:
    started = utcnow() - dt.timedelta(seconds=seconds_ago)
    runtime_id = f"run_{n:03d}_{app.id}"
    Runtime.create(
        id=runtime_id, app=app, started=started, status=RuntimeStatus.RUNNING, heartbeat=utcnow()
    )
    Apps.update(
        current_runtime=runtime_id, run_status=RunStatus.RUNNING, progress_updated=utcnow()
    ).where(Apps.id == app.id).execute()
    return runtime_id


def run(
    app: Apps,
    seconds: float,
    records: int,
    n: int,
    status: RuntimeStatus = RuntimeStatus.COMPLETED,
) -> None:
    from control.agent.context import Counts

    runtime_id = start(app, seconds, n)
    counts = Counts(current=records, total=records, solved=records, failed=0, version=1)
    finish_run(
        runtime_id,
        app.id,
        status,
        "boom" if status is RuntimeStatus.FAILED else None,
        counts,
        fatal_after=3,
    )


def history(app: Apps, count: int = 3, seconds: float = 10, records: int = 100) -> None:
    for n in range(count):
        run(app, seconds, records, n)


def open_verdicts(app: Apps) -> set[str]:
    return {
        v.verdict
        for v in HealthVerdict.select().where(
            HealthVerdict.app == app.id, HealthVerdict.cleared_at.is_null()
        )
    }


def test_the_baseline_follows_the_last_n_completed_runs(db: Database, bus: RecordingBus) -> None:
    app = make_app()
    for n, seconds in enumerate([10, 20, 30, 40, 50]):
        run(app, seconds, 100 + n, n)
    run(app, 5, 0, 9, RuntimeStatus.FAILED)  # a failed run is not in the baseline
    row = AppBaseline.get(AppBaseline.app == app.id)
    assert row.runs == 4
    assert [s[0] for s in row.samples] == [f"run_00{n}_{app.id}" for n in (1, 2, 3, 4)]
    # each run lasts its seconds plus the wall time its test step took (a loaded machine:
    # up to a second); the last four give 35, the five with the first one 30
    assert row.duration_p50 == pytest.approx(35, abs=2)
    assert row.records_p50 == pytest.approx(102.5)
    assert row.last_run["status"] == "FAILED"


def test_a_slow_run_raises_at_its_end_against_the_runs_before_it_then_clears(
    db: Database, bus: RecordingBus
) -> None:
    app = make_app()
    history(app)
    run(app, 40, 100, 10)
    assert open_verdicts(app) == {"slow"}
    evidence = HealthVerdict.get(HealthVerdict.verdict == "slow").evidence
    assert evidence["threshold_seconds"] == pytest.approx(15, abs=0.1)
    assert evidence["running"] is False
    run(app, 10, 100, 11)
    assert open_verdicts(app) == set()
    assert bus.health() == [("slow", "raised"), ("slow", "cleared")]


def test_slow_is_raised_by_the_evaluator_while_the_run_goes_on(
    db: Database, bus: RecordingBus
) -> None:
    app = make_app()
    history(app)
    start(app, 40, 10)
    changes = services.evaluate_all()
    assert [(c["verdict"], c["state"]) for c in changes] == [("slow", "raised")]
    assert services.evaluate_all() == []  # raised once
    assert changes[0]["evidence"]["running"] is True


def test_zero_records_raise_low_output(db: Database, bus: RecordingBus) -> None:
    app = make_app()
    history(app)
    run(app, 10, 0, 10)
    assert open_verdicts(app) == {"low_output"}
    assert HealthVerdict.get().evidence["records"] == 0
    run(app, 10, 100, 11)
    assert open_verdicts(app) == set()


def test_failures_below_the_fatal_threshold_are_failing(db: Database, bus: RecordingBus) -> None:
    app = make_app()
    run(app, 1, 0, 1, RuntimeStatus.FAILED)
    assert open_verdicts(app) == {"failing"}
    run(app, 1, 0, 2, RuntimeStatus.FAILED)
    run(app, 1, 0, 3, RuntimeStatus.FAILED)  # fatal now: failing gives way
    assert Apps.get_by_id(app.id).fatal_flag is FatalFlag.FATAL
    assert open_verdicts(app) == set()


def test_stalled_and_missed_from_the_evaluator(db: Database, bus: RecordingBus) -> None:
    stalled = make_app()
    start(stalled, 5, 1)
    Apps.update(progress_updated=utcnow() - dt.timedelta(seconds=31)).where(
        Apps.id == stalled.id
    ).execute()
    missed = make_app(next_run=utcnow() - dt.timedelta(seconds=61))
    make_app(next_run=utcnow() - dt.timedelta(seconds=61), disabled=True)
    services.evaluate_all()
    assert open_verdicts(stalled) == {"stalled"}
    assert open_verdicts(missed) == {"missed"}
    fleet = services.fleet()
    assert fleet["verdicts"]["stalled"] == {"count": 1, "apps": [stalled.id]}
    assert fleet["verdicts"]["missed"] == {"count": 1, "apps": [missed.id]}
    assert fleet["apps_unhealthy"] == 2
    assert services.verdict_counts()["missed"] == 1
    Apps.update(next_run=utcnow() + dt.timedelta(minutes=5)).where(Apps.id == missed.id).execute()
    services.evaluate_all()
    assert open_verdicts(missed) == set()
    health = services.app_health(missed.id)
    assert health["verdicts"] == []
    assert [(h["verdict"], h["cleared_at"] is not None) for h in health["history"]] == [
        ("missed", True)
    ]


def test_the_notification_rule_for_health_changes() -> None:
    raised = Event.of(
        EventType.APP_HEALTH_CHANGED,
        {"app": "a", "verdict": "slow", "state": "raised", "evidence": {"seconds": 40}},
    )
    found = from_bus(raised, 0.25)
    assert found is not None
    assert (found.type, found.severity, found.dedup_key) == (
        "app.health",
        Severity.WARNING,
        "app.health:slow:a",
    )
    cleared = Event.of(
        EventType.APP_HEALTH_CHANGED, {"app": "a", "verdict": "slow", "state": "cleared"}
    )
    found = from_bus(cleared, 0.25)
    assert found is not None
    assert (found.severity, found.dedup_key) == (Severity.INFO, "app.health:slow:a:cleared")


def test_the_periodic_evaluator_reads_only_what_a_snapshot_holds(db: Database) -> None:
    """It reads the whole fleet every minute: not the baselines' samples, nor the apps'
    descriptions; a baseline and a current run still reach the snapshot."""
    from tests.sql_capture import captured_sql

    app = make_app(id="snap_reads", description="long text " * 50)
    run = Runtime.create(id="snap_run", app=app.id, status=RuntimeStatus.RUNNING)
    Apps.update(current_runtime=run.id).where(Apps.id == app.id).execute()
    AppBaseline.create(app=app.id, samples=[1.0] * 50, runs=5, duration_p50=10.0)

    with captured_sql() as statements:
        (snapshot,) = [s for s in services._snapshots() if s.app_id == app.id]

    assert snapshot.current is not None
    assert snapshot.current.runtime_id == run.id
    assert snapshot.baseline is not None
    assert snapshot.baseline.runs == 5
    selected = statements[-1][0].split(" FROM ")[0]
    assert '"samples"' not in selected, selected
    assert '"description"' not in selected, selected
