"""The maintenance actors on a real Worker over the process's in-process broker."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import dramatiq
import pytest
from peewee import Database

from control.db.models import Apps, Runtime, utcnow
from control.enums import RunStatus, RuntimeStatus
from control.events.publish import install, uninstall
from control.events.types import Event
from control.notifications.models import ChannelType, NotificationChannel, NotificationDelivery
from control.system.metrics import SystemMetric
from tests.factories import make_app, make_runtime
from workers import broker as broker_module
from workers import maintenance
from workers.maintenance import QUEUE, apply_retention, detect_stale_runtimes, sample_metrics


class RecordingBus:
    """Keeps what is published, for the assertions."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def publish(self, event: Event) -> bool:
        with self._lock:
            self.events.append(event)
        return True

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.type.value == kind]


@pytest.fixture
def bus() -> Iterator[RecordingBus]:
    recording = RecordingBus()
    install(recording)  # type: ignore[arg-type]
    yield recording
    uninstall(recording)  # type: ignore[arg-type]


@pytest.fixture
def worker(db: Database, bus: RecordingBus) -> Iterator[dramatiq.Worker]:
    stub = broker_module.broker
    stub.flush_all()
    running = dramatiq.Worker(stub, worker_timeout=20, worker_threads=1)
    running.start()
    yield running
    running.stop()
    stub.flush_all()


def run(actor: dramatiq.Actor, running: dramatiq.Worker) -> None:
    actor.send()
    broker_module.broker.join(QUEUE, timeout=30_000)  # the stub re-raises a failure
    running.join()


def test_the_actors_are_declared_on_purpose():
    for actor in (
        sample_metrics,
        apply_retention,
        detect_stale_runtimes,
        maintenance.cleanup_tokens,
    ):
        assert actor.broker is broker_module.broker
        assert actor.queue_name == "maintenance"
        assert actor.options["max_retries"] == 0
        assert actor.options["time_limit"] > 0


def test_sample_metrics_writes_a_row_and_publishes(db, bus, worker):
    run(sample_metrics, worker)
    with db.connection_context():
        rows = list(SystemMetric.select())
    assert len(rows) == 1
    (event,) = bus.of("system.metric")
    assert event.data["cpu_percent"] == rows[0].cpu_percent
    assert event.data["process_count"] == rows[0].process_count


def test_detect_stale_runtimes_closes_a_silent_run_as_failed_and_notifies(
    db, bus, worker, monkeypatch
):
    enqueued: list[int] = []
    monkeypatch.setattr(maintenance, "enqueue_delivery", enqueued.append)
    long_ago = utcnow() - dt.timedelta(hours=1)
    with db.connection_context():
        app = make_app(run_status=RunStatus.RUNNING)
        stale = make_runtime(app, started=long_ago, status=RuntimeStatus.RUNNING, ended=None)
        Apps.update(current_runtime=stale.id).where(Apps.id == app.id).execute()
        fresh_app = make_app(run_status=RunStatus.RUNNING)
        fresh = make_runtime(
            fresh_app,
            started=long_ago,
            status=RuntimeStatus.RUNNING,
            ended=None,
            heartbeat=utcnow(),
        )
        NotificationChannel.create(
            name="ops", type=ChannelType.WEBHOOK, events=["runtime.failed"], min_severity="error"
        )

    run(detect_stale_runtimes, worker)

    with db.connection_context():
        closed = Runtime.get_by_id(stale.id)
        assert closed.status is RuntimeStatus.FAILED
        assert "no heartbeat" in closed.error
        assert Apps.get_by_id(app.id).run_status is RunStatus.FAILED
        assert Runtime.get_by_id(fresh.id).status is RuntimeStatus.RUNNING
        deliveries = list(NotificationDelivery.select())
    (completed,) = bus.of("runtime.completed")
    assert completed.data["status"] == "FAILED"
    assert completed.data["runtime"] == stale.id
    assert [d.event for d in deliveries] == ["runtime.failed"]
    assert enqueued == [deliveries[0].id]


def test_apply_retention_runs_on_a_worker(db, worker):
    with db.connection_context():
        SystemMetric.create(
            at=utcnow() - dt.timedelta(days=400),
            cpu_percent=1,
            memory_percent=1,
            disk_percent=1,
            process_count=1,
        )
    run(apply_retention, worker)
    with db.connection_context():
        assert SystemMetric.select().count() == 0


def test_cleanup_tokens_runs_on_a_worker(db, worker):
    run(maintenance.cleanup_tokens, worker)  # nothing to delete is no failure
