"""Bulk jobs on the real brokers: RabbitMQ and Redis, and a worker killed mid-job.

Each test declares the bulk actor on its own queue of a broker built for the test, so
nothing else consumes its messages.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from peewee import fn

from control.apps.models import Apps
from control.bulk import services as bulk
from control.bulk.models import BulkJob, BulkJobItem, BulkStatus
from control.commands.models import Command
from control.commands.services import Actor
from control.db.database import connected
from control.enums import RunStatus
from control.settings import load_settings
from tests.conftest import RABBITMQ_URL, REDIS_BROKER_URL
from tests.factories import make_app
from tests.task_queues import declare_bulk_actor
from tests.waiting import wait_until
from workers.broker import build_broker

APPS = 200

pytestmark = pytest.mark.services

# A worker process: the bulk actor on the queue named in argv, in chunks of argv[3] apps,
# each chunk slowed down by argv[2] seconds so that the test can kill it mid-job. On
# Redis a dead worker's messages come back once its heartbeat is 2 s old (at the next
# maintenance, here on every fetch) instead of after a minute, by chance.
WORKER_SCRIPT = """
import sys, time
from control.settings import get_settings
from control.db.database import init_database
init_database(get_settings().database_url)
import dramatiq
from control.bulk import apply as bulk_apply
from workers.broker import build_broker
from tests.task_queues import declare_bulk_actor
broker = build_broker(get_settings())
if hasattr(broker, "heartbeat_timeout"):
    broker.heartbeat_timeout = 2_000
    broker.maintenance_chance = 1_000_000
bulk_apply.CHUNK_SIZE = int(sys.argv[3])
original = bulk_apply._apply_chunk
def slow(job, app_ids, actor):
    time.sleep(float(sys.argv[2]))
    original(job, app_ids, actor)
    print("chunk", app_ids[0], flush=True)
bulk_apply._apply_chunk = slow
declare_bulk_actor(broker, sys.argv[1], max_retries=3, time_limit=600_000)
worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
worker.start()
print("ready", flush=True)
while True:
    time.sleep(1)
"""
CHUNK = 10  # the workers' chunks: 20 of them


@pytest.fixture
def fleet(db) -> list[str]:
    """200 apps in group 'scrapers': every tenth disabled, every seventh running."""
    ids = []
    for n in range(APPS):
        app = make_app(id=f"bulk_{n:03d}", group="scrapers")
        if n % 10 == 0:
            Apps.update(disabled=True).where(Apps.id == app.id).execute()
        elif n % 7 == 0:
            Apps.update(run_status=RunStatus.RUNNING).where(Apps.id == app.id).execute()
        ids.append(app.id)
    return ids


def expected_skips(ids: list[str]) -> set[str]:
    return {i for n, i in enumerate(ids) if n % 10 == 0 or n % 7 == 0}


def new_job() -> str:
    created = bulk.create_job({"group": "scrapers"}, "START", Actor("automation@example.com"))
    assert created.job is not None
    return created.job["id"]


def status(job_id: str) -> BulkStatus:
    with connected():
        return BulkJob.get_by_id(job_id).status


def assert_complete(job_id: str, ids: list[str]) -> None:
    job = bulk.get_job(job_id)
    skipped = expected_skips(ids)
    assert job["status"] == "completed"
    assert (job["matched"], job["done"]) == (APPS, APPS)
    assert (job["applied"], job["skipped"], job["failed"]) == (APPS - len(skipped), len(skipped), 0)
    results = {r["app_id"]: r for r in job["results"]}
    assert set(results) == set(ids)
    assert {a for a, r in results.items() if r["outcome"] == "skipped"} == skipped
    # one command per applied app, none twice
    per_app = (
        Command.select(Command.app, fn.COUNT(Command.id).alias("n"))
        .where(Command.bulk_job_id == job_id)
        .group_by(Command.app)
    )
    counts = {row.app: row.n for row in per_app}
    assert set(counts) == set(ids) - skipped
    assert set(counts.values()) == {1}


def test_a_job_over_200_apps_completes(db, fleet, real_broker):
    broker, queue = real_broker
    actor = declare_bulk_actor(broker, queue)
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        job_id = new_job()
        actor.send(job_id)
        assert wait_until(lambda: status(job_id) is BulkStatus.COMPLETED, 60)
    finally:
        worker.stop()
    assert_complete(job_id, fleet)


def _start_worker(kind: str, queue: str, database_url: str, delay: float) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DC_BROKER": kind,
        "DC_RABBITMQ_URL": RABBITMQ_URL,
        "DC_REDIS_URL": REDIS_BROKER_URL,
        "DC_DATABASE_URL": database_url,
        "DC_ENVIRONMENT": "test",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, queue, str(delay), str(CHUNK)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _stop(*procs: subprocess.Popen[str] | None) -> None:
    for proc in procs:
        if proc is None:
            continue
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _handled(job_id: str) -> int:
    with connected():
        return BulkJobItem.select().where(BulkJobItem.job == job_id).count()


@pytest.fixture(params=["rabbitmq", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def on_broker(kind: str) -> Iterator[tuple[Any, str]]:
    """A broker of ``kind`` for the test process (it only sends) and a queue of its own."""
    broker = build_broker(
        load_settings(broker=kind, rabbitmq_url=RABBITMQ_URL, redis_url=REDIS_BROKER_URL)
    )
    queue = f"dc_test_bulk_{uuid.uuid4().hex[:10]}"
    yield broker, queue
    if kind == "rabbitmq":
        channel = broker.channel
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
    else:
        broker.flush(queue)
    broker.close()


def test_a_worker_killed_mid_job_finishes_on_redelivery(request, db, fleet, kind, on_broker):
    from control.db.database import dialect

    database_url = request.getfixturevalue(f"{dialect(db)}_url")
    broker, queue = on_broker
    actor = declare_bulk_actor(broker, queue)
    first = second = None
    try:
        first = _start_worker(kind, queue, database_url, 0.2)
        job_id = new_job()
        actor.send(job_id)
        assert wait_until(lambda: _handled(job_id) >= 40, 60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        partial = _handled(job_id)
        assert 40 <= partial < APPS
        assert partial % CHUNK == 0  # whole chunks, or nothing of one
        assert status(job_id) is BulkStatus.RUNNING

        second = _start_worker(kind, queue, database_url, 0.0)
        assert wait_until(lambda: status(job_id) is BulkStatus.COMPLETED, 90)
    finally:
        _stop(first, second)
    assert_complete(job_id, fleet)


def test_one_of_two_workers_killed_mid_job_the_other_finishes_it(
    request, db, fleet, kind, on_broker
):
    from control.db.database import dialect

    database_url = request.getfixturevalue(f"{dialect(db)}_url")
    broker, queue = on_broker
    actor = declare_bulk_actor(broker, queue)
    first = second = None
    try:
        # both share the job's chunk messages; the second outlives the first
        first = _start_worker(kind, queue, database_url, 0.3)
        second = _start_worker(kind, queue, database_url, 0.3)
        job_id = new_job()
        actor.send(job_id)
        assert wait_until(lambda: _handled(job_id) >= 60, 60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert _handled(job_id) < APPS
        assert wait_until(lambda: status(job_id) is BulkStatus.COMPLETED, 90)
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        # each applied chunks of the job (the first's last one may have been cut)
        assert first.stdout is not None
        assert second.stdout is not None
        lines = [proc.stdout.read().splitlines() for proc in (first, second)]
        assert lines[0]
        assert lines[1]
    finally:
        _stop(first, second)
    assert_complete(job_id, fleet)


FLEET = 5_000  # the acceptance's job: ten chunks of apply.CHUNK_SIZE


def test_a_5000_app_job_cancelled_mid_way_stops_within_one_chunk(db, real_broker, monkeypatch):
    """A worker applies the job chunk after chunk (each slowed down inside its
    transaction, so the cancel lands on a chunk under way); once the cancel answers, no
    app is commanded: the job stops within that chunk, the rest is skipped "cancelled"
    and the job ends cancelled."""
    import time

    from peewee import chunked

    from control.audit.context import AuditContext
    from control.bulk import apply as bulk_apply
    from control.bulk import cancel as bulk_cancel
    from control.clock import utcnow

    rows = [
        {"id": f"fleet_{n:04d}", "group": "fleet", "parent": "registry", "app": f"fleet_{n:04d}"}
        for n in range(FLEET)
    ]
    for batch in chunked(rows, 500):
        Apps.insert_many(batch).execute()
    original = bulk_apply._still_open

    def slow(job_id: str) -> bool:
        # inside the chunk's transaction, the job row's shared lock held: a cancel
        # asked meanwhile waits for this chunk, which commands its apps
        found = original(job_id)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(bulk_apply, "_still_open", slow)
    broker, queue = real_broker
    actor = declare_bulk_actor(broker, queue)
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        created = bulk.create_job({"group": "fleet"}, "START", Actor("ops@example.com"))
        assert created.job is not None
        job_id = created.job["id"]
        actor.send(job_id)
        assert wait_until(lambda: _handled(job_id) >= 2 * bulk_apply.CHUNK_SIZE, 60)
        before = _handled(job_id)
        asked = time.monotonic()
        found = bulk_cancel.cancel_job(job_id, AuditContext(actor=Actor("ops@example.com")))
        acknowledged = utcnow()
        waited = time.monotonic() - asked
        assert found["status"] == "cancelled"
        # the chunk messages still queued arrive and do nothing
        time.sleep(1.5)
    finally:
        worker.stop()
    job = bulk.get_job(job_id)
    assert job["status"] == "cancelled"
    assert (job["matched"], job["done"], job["failed"]) == (FLEET, FLEET, 0)
    cancelled = [r["app_id"] for r in job["results"] if r["reason"] == "cancelled"]
    applied = [r["app_id"] for r in job["results"] if r["outcome"] == "applied"]
    assert job["skipped"] == len(cancelled) > 0
    assert len(applied) + len(cancelled) == FLEET
    # within one chunk: at most the chunk under way was applied after the cancel was asked
    assert before <= len(applied) <= before + bulk_apply.CHUNK_SIZE
    assert len(applied) % bulk_apply.CHUNK_SIZE == 0  # whole chunks
    commands = Command.select().where(Command.bulk_job_id == job_id)
    assert commands.count() == len(applied)
    assert {c.app for c in commands} == set(applied)
    assert not commands.where(Command.requested_at > acknowledged).exists()
    assert waited < 5  # the cancel waited for one chunk at most, not for the job
