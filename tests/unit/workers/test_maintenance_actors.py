"""The maintenance actors on a real Worker over the in-process broker set up."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import dramatiq
import pytest
from peewee import Database

from control.apps.models import Apps
from control.clock import utcnow
from control.db.database import dialect
from control.enums import RunStatus, RuntimeStatus
from control.events.publish import install, uninstall
from control.events.types import Event
from control.maintenance import partitions
from control.notifications.models import ChannelType, NotificationChannel, NotificationDelivery
from control.runtimes.models import Runtime
from control.system.models import SystemMetric
from control.tasks import actors
from control.tasks.memory import InProcessTaskQueue
from tests.factories import make_app, make_runtime
from workers import maintenance
from workers.maintenance import QUEUE


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
def worker(db: Database, bus: RecordingBus, stub_broker) -> Iterator[dramatiq.Worker]:
    stub = stub_broker
    stub.flush_all()
    running = dramatiq.Worker(stub, worker_timeout=20, worker_threads=1)
    running.start()
    yield running
    running.stop()
    stub.flush_all()


def run(ref: actors.ActorRef, running: dramatiq.Worker) -> None:
    running.broker.get_actor(ref.name).send()
    running.broker.join(QUEUE, timeout=30_000)  # the stub re-raises a failure
    running.join()


def test_the_actors_are_declared_on_purpose(stub_broker):
    for ref in (
        actors.SAMPLE_METRICS,
        actors.APPLY_RETENTION,
        actors.ENSURE_PARTITIONS,
        actors.DETECT_STALE_RUNTIMES,
        actors.CLEANUP_TOKENS,
        actors.EVALUATE_HEALTH,
        actors.ROLL_UP_FUNCTIONS,
        actors.ROLL_UP_FUNCTION_PAIRS,
        actors.ROLL_UP_PIPELINES,
        actors.ROLL_UP_AUDIT,
        actors.ROLL_UP_RUNTIMES,
    ):
        actor = stub_broker.get_actor(ref.name)
        assert actor.broker is stub_broker
        assert actor.queue_name == "maintenance"
        assert actor.options["max_retries"] == 0
        assert actor.options["time_limit"] > 0


def test_sample_metrics_writes_a_row_and_publishes(db, bus, worker):
    run(actors.SAMPLE_METRICS, worker)
    with db.connection_context():
        rows = list(SystemMetric.select())
    assert len(rows) == 1
    (event,) = bus.of("system.metric")
    assert event.data["cpu_percent"] == rows[0].cpu_percent
    assert event.data["process_count"] == rows[0].process_count


def test_ensure_partitions_keeps_the_days_ahead(db, worker):
    ahead = utcnow() + dt.timedelta(days=partitions.AHEAD_DAYS)
    run(actors.ENSURE_PARTITIONS, worker)  # a no-op on SQLite
    with db.connection_context():
        names = [p.name for p in partitions.list_partitions(partitions.LOGS)]
    if dialect(db) == "postgresql":
        assert partitions.LOGS.name(partitions.LOGS.start_of(ahead)) in names
    else:
        assert names == []


def test_detect_stale_runtimes_closes_a_silent_run_as_failed_and_notifies(db, bus):
    tasks = InProcessTaskQueue()  # what the actor sends on, kept here
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

    maintenance.detect_stale_runtimes(tasks)

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
    assert tasks.args_sent(actors.SEND_NOTIFICATION) == [deliveries[0].id]


def test_detect_stale_runtimes_runs_on_a_worker(db, worker):
    run(actors.DETECT_STALE_RUNTIMES, worker)  # nothing stale is no failure


def test_evaluate_health_runs_on_a_worker_and_publishes_what_changed(db, bus, worker):
    with db.connection_context():
        app = make_app(next_run=utcnow() - dt.timedelta(days=1))
    run(actors.EVALUATE_HEALTH, worker)
    (changed,) = bus.of("app.health_changed")
    assert (changed.data["app"], changed.data["verdict"]) == (app.id, "missed")
    assert changed.data["state"] == "raised"


def test_apply_retention_runs_on_a_worker(db, worker):
    with db.connection_context():
        SystemMetric.create(
            at=utcnow() - dt.timedelta(days=400),
            cpu_percent=1,
            memory_percent=1,
            disk_percent=1,
            process_count=1,
        )
    run(actors.APPLY_RETENTION, worker)
    with db.connection_context():
        assert SystemMetric.select().count() == 0


def test_cleanup_tokens_runs_on_a_worker(db, worker):
    run(actors.CLEANUP_TOKENS, worker)  # nothing to delete is no failure


def test_roll_up_functions_runs_on_a_worker_and_writes_the_hours(db, worker):
    from control.performance.models import FunctionHour, FunctionPair
    from control.performance.rollup import rolled_until
    from tests.factories import make_function_log

    two_hours_ago = utcnow() - dt.timedelta(hours=2)
    with db.connection_context():
        app = make_app()
        make_function_log(app, function_name="fetch", started=two_hours_ago, runtime_seconds=3.0)
        make_function_log(app, function_name="fetch", started=two_hours_ago, runtime_seconds=5.0)
    run(actors.ROLL_UP_FUNCTIONS, worker)
    run(actors.ROLL_UP_FUNCTION_PAIRS, worker)
    with db.connection_context():
        (pair,) = FunctionPair.select()
        (hour,) = FunctionHour.select()
        mark = rolled_until()
    assert (hour.function_name, hour.calls, hour.runtime_sum, hour.runtime_max) == (
        "fetch",
        2,
        8.0,
        5.0,
    )
    assert (pair.function_name, pair.app, pair.calls, pair.avg_runtime) == ("fetch", app.id, 2, 4.0)
    assert hour.hour == two_hours_ago.replace(minute=0, second=0, microsecond=0)
    assert mark is not None
    assert two_hours_ago < mark <= utcnow()


def test_roll_up_pipelines_and_audit_run_on_a_worker_and_write_the_hours(db, worker):
    from control.audit.models import AuditActorHour, AuditLog
    from control.pipelines.models import PipelineHour
    from control.rollups.hourly import rolled_until
    from tests.factories import make_pipeline_task

    two_hours_ago = utcnow() - dt.timedelta(hours=2)
    with db.connection_context():
        app = make_app()
        make_pipeline_task(app, created=two_hours_ago, updated=two_hours_ago)
        AuditLog.create(at=two_hours_ago, actor="alice", action="apps.start", outcome="success")
    run(actors.ROLL_UP_PIPELINES, worker)
    run(actors.ROLL_UP_AUDIT, worker)
    with db.connection_context():
        (tasks,) = PipelineHour.select()
        (actor,) = AuditActorHour.select()
        marks = rolled_until("pipeline_hour"), rolled_until("audit_hour")
    hour = two_hours_ago.replace(minute=0, second=0, microsecond=0)
    assert (tasks.hour, tasks.document_type, tasks.tasks) == (hour, "invoice", 1)
    assert (actor.hour, actor.actor, actor.rows) == (hour, "alice", 1)
    assert all(mark is not None and two_hours_ago < mark <= utcnow() for mark in marks)


def test_roll_up_runtimes_runs_on_a_worker_and_writes_the_hours(db, worker):
    from control.rollups.hourly import rolled_until
    from control.runtimes.models import RuntimeEndHour, RuntimeStartHour
    from control.runtimes.rollup import NAME

    two_hours_ago = utcnow() - dt.timedelta(hours=2)
    with db.connection_context():
        app = make_app()
        make_runtime(app, started=two_hours_ago, status=RuntimeStatus.FAILED, ended=two_hours_ago)
    run(actors.ROLL_UP_RUNTIMES, worker)
    with db.connection_context():
        (started,) = RuntimeStartHour.select()
        (ended,) = RuntimeEndHour.select()
        mark = rolled_until(NAME)
    hour = two_hours_ago.replace(minute=0, second=0, microsecond=0)
    assert (started.hour, started.runs) == (hour, 1)
    assert (ended.hour, ended.status, ended.runs) == (hour, "FAILED", 1)
    assert mark is not None
    assert two_hours_ago < mark <= utcnow()
