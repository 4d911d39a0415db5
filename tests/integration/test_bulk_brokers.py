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

import dramatiq
import pytest
from peewee import fn

from control.bulk import services as bulk
from control.bulk.models import BulkJob, BulkJobItem, BulkStatus
from control.commands.models import Command
from control.commands.services import Actor
from control.db.database import connected
from control.db.models import Apps
from control.enums import RunStatus
from control.settings import load_settings
from tests.factories import make_app
from tests.waiting import wait_until
from workers import bulk as bulk_worker
from workers.broker import build_broker

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
APPS = 200

pytestmark = pytest.mark.services

# A worker process: the bulk actor on the queue named in argv, each app slowed down so
# that the test can kill it mid-job.
WORKER_SCRIPT = """
import sys, time
from control.settings import get_settings
from control.db.database import init_database
init_database(get_settings().database_url)
import dramatiq
from control.bulk import services
from workers import bulk
from workers.broker import build_broker
broker = build_broker(get_settings())
original = services._apply_one
def slow(*args, **kwargs):
    time.sleep(float(sys.argv[2]))
    return original(*args, **kwargs)
services._apply_one = slow
dramatiq.actor(bulk.apply, actor_name="apply_bulk_job", broker=broker,
               queue_name=sys.argv[1], max_retries=3, time_limit=600_000)
worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
worker.start()
print("ready", flush=True)
while True:
    time.sleep(1)
"""


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
    actor = dramatiq.actor(
        bulk_worker.apply, actor_name="apply_bulk_job", broker=broker, queue_name=queue
    )
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        job_id = new_job()
        actor.send(job_id)
        assert wait_until(lambda: status(job_id) is BulkStatus.COMPLETED, 60)
    finally:
        worker.stop()
    assert_complete(job_id, fleet)


def _start_worker(queue: str, database_url: str, delay: float) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DC_BROKER": "rabbitmq",
        "DC_RABBITMQ_URL": RABBITMQ_URL,
        "DC_DATABASE_URL": database_url,
        "DC_ENVIRONMENT": "test",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, queue, str(delay)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_worker_killed_mid_job_finishes_on_redelivery(request, db, fleet):
    from control.db.database import dialect

    database_url = request.getfixturevalue(f"{dialect(db)}_url")
    broker = build_broker(load_settings(broker="rabbitmq", rabbitmq_url=RABBITMQ_URL))
    queue = f"dc_test_bulk_{uuid.uuid4().hex[:10]}"
    actor = dramatiq.actor(
        bulk_worker.apply, actor_name="apply_bulk_job", broker=broker, queue_name=queue
    )
    first = second = None
    try:
        first = _start_worker(queue, database_url, 0.02)
        job_id = new_job()
        actor.send(job_id)

        def handled() -> int:
            with connected():
                return BulkJobItem.select().where(BulkJobItem.job == job_id).count()

        assert wait_until(lambda: handled() >= 40, 60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        partial = handled()
        assert 40 <= partial < APPS
        assert status(job_id) is BulkStatus.RUNNING

        second = _start_worker(queue, database_url, 0.0)
        assert wait_until(lambda: status(job_id) is BulkStatus.COMPLETED, 90)
    finally:
        for proc in (first, second):
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
        channel = broker.channel
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
        broker.close()
    assert_complete(job_id, fleet)
