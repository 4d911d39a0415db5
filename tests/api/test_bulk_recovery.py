"""A bulk job is never left ``running`` for good, on the real brokers and databases.

Three ways a job used to be stranded (issue 16): the broker did not take a retry
(Dramatiq logs and acks), the database was down through the last attempt (neither the
job nor the dead-letter row could be written), and a time limit on the last attempt
(a ``BaseException``, past ``except Exception``). Each ends here with the job completed
by the sweep, or failed and requeued through the API, and no app commanded twice.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import dramatiq
import pytest
from dramatiq.middleware import TimeLimit
from peewee import OperationalError, fn

from control.bulk import apply as bulk_apply
from control.bulk import services as bulk
from control.bulk.models import BulkJobItem
from control.commands.models import Command
from control.commands.services import Actor
from control.db.database import connect_url, connected, database
from control.jobs.models import DeadJob
from control.system.queues import RabbitmqDeadLetters
from control.tasks.dramatiq import DramatiqTaskQueue
from tests.conftest import RABBITMQ_URL
from tests.factories import make_app
from tests.task_queues import OnTestQueue, declare_bulk_actor
from tests.tcp_proxy import TcpProxy
from tests.waiting import wait_until
from workers import bulk as bulk_worker

pytestmark = pytest.mark.services

APPS = 40
NOW = dt.timedelta(0)  # "stalled for longer than this": any running job without progress


@pytest.fixture
def fleet(db) -> list[str]:
    return [make_app(id=f"strand_{n:02d}", group="strand").id for n in range(APPS)]


def new_job() -> str:
    created = bulk.create_job({"group": "strand"}, "START", Actor("automation@example.com"))
    assert created.job is not None
    return created.job["id"]


def status(job_id: str) -> str:
    return str(bulk.get_job(job_id)["status"])


def handled(job_id: str) -> int:
    with connected():
        return BulkJobItem.select().where(BulkJobItem.job == job_id).count()


def assert_each_app_commanded_once(job_id: str, ids: list[str]) -> None:
    job = bulk.get_job(job_id)
    assert (job["status"], job["applied"], job["done"]) == ("completed", APPS, APPS)
    with connected():
        per_app = dict(
            Command.select(Command.app, fn.COUNT(Command.id))
            .where(Command.bulk_job_id == job_id)
            .group_by(Command.app)
            .tuples()
        )
    assert per_app == dict.fromkeys(ids, 1)


def slow_chunks(
    monkeypatch: pytest.MonkeyPatch, seconds: float, size: int, only: str | None = None
) -> None:
    """Chunks of ``size`` apps, each (or only the one holding app ``only``) taking
    ``seconds`` longer before its transaction."""
    monkeypatch.setattr(bulk_apply, "CHUNK_SIZE", size)
    original = bulk_apply._apply_chunk

    def slow(job: Any, app_ids: list[str], actor: Any) -> None:
        if only is None or only in app_ids:
            time.sleep(seconds)
        original(job, app_ids, actor)

    monkeypatch.setattr(bulk_apply, "_apply_chunk", slow)


@pytest.fixture
def worker_on(real_broker) -> Iterator[Any]:
    """Starts a worker on the test's broker once the test has declared its actor."""
    broker, _ = real_broker
    workers: list[dramatiq.Worker] = []

    def start() -> dramatiq.Worker:
        worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=1)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def declare(broker: Any, queue: str, **options: Any) -> dramatiq.Actor:
    return declare_bulk_actor(broker, queue, **options)


def test_a_retry_the_broker_did_not_take_is_resent_by_the_sweep(
    fleet, real_broker, worker_on, monkeypatch
):
    broker, queue = real_broker
    actor = declare(broker, queue, max_retries=3, min_backoff=100, max_backoff=200)
    original_enqueue = broker.enqueue

    def no_delayed(message: Any, *, delay: int | None = None) -> Any:
        if delay is not None:  # Retries re-enqueues with a delay: the broker refuses it
            raise dramatiq.ConnectionClosed(OSError("broker gone"))
        return original_enqueue(message, delay=delay)

    monkeypatch.setattr(broker, "enqueue", no_delayed)
    progress_event = bulk_apply.progress_event
    failures = iter([OperationalError("database hiccup")])

    def fail_once(job: Any) -> None:
        if (exc := next(failures, None)) is not None:
            raise exc
        progress_event(job)

    monkeypatch.setattr(bulk_apply, "progress_event", fail_once)

    job_id = new_job()
    actor.send(job_id)
    worker_on()
    assert wait_until(lambda: status(job_id) == "running", 20)
    time.sleep(1.5)  # the retry would have run by now: it was dropped
    assert (status(job_id), handled(job_id)) == ("running", 0)

    assert bulk_worker.requeue_stale_jobs(OnTestQueue(broker, queue), stalled_after=NOW) == 1
    assert wait_until(lambda: status(job_id) == "completed", 30)
    assert_each_app_commanded_once(job_id, fleet)


def test_a_last_attempt_cut_by_its_time_limit_fails_and_the_api_requeue_completes_it(
    request, client, tasks, fleet, real_broker, worker_on, monkeypatch
):
    broker, queue = real_broker
    # the real actor's retries (its last attempt is the 4th), quicker backoff
    actor = declare(broker, queue, max_retries=3, min_backoff=100, max_backoff=200, time_limit=300)
    # the API's requeue sends to the test's broker (the dead message names its queue)
    monkeypatch.setattr(tasks, "send", DramatiqTaskQueue(broker).send)
    fast = bulk_apply._apply_chunk
    # four chunks of ten; each attempt at the third is cut after 0.3 s
    slow_chunks(monkeypatch, 2.0, 10, only="strand_25")

    # the time limits' watchdog starts with the process (the dramatiq CLI emits this); it
    # looks every 50 ms instead of every second, so the four cut attempts take ~2 s, not 8
    [limits] = [m for m in broker.middleware if isinstance(m, TimeLimit)]
    limits.manager.interval = 0.05
    broker.emit_after("process_boot")
    job_id = new_job()
    actor.send(job_id)
    worker_on()
    assert wait_until(lambda: status(job_id) == "failed", 20)
    job = bulk.get_job(job_id)
    assert "TimeLimitExceeded" in job["error"]
    partial = handled(job_id)
    assert 0 < partial < APPS
    with connected():
        assert not BulkJobItem.select().where(BulkJobItem.app_id == "strand_25").exists()

    monkeypatch.setattr(bulk_apply, "_apply_chunk", fast)
    # the requeued run gets a limit its work clearly fits, even on a loaded machine
    actor.options["time_limit"] = 10_000
    listed = client.simulate_get("/api/v1/jobs/dead")
    [dead] = [d for d in listed.json["data"] if d["args"]["args"][0] == job_id]
    assert dead["args"]["args"] == [job_id, 20, 30]  # the chunk that died
    requeued = client.simulate_post(f"/api/v1/jobs/dead/{dead['id']}/requeue")
    assert requeued.status_code == 202, requeued.text
    assert wait_until(lambda: status(job_id) == "completed", 30)
    assert_each_app_commanded_once(job_id, fleet)
    with connected():
        assert DeadJob.select().count() == 1  # the requeued run did not die again


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@pytest.mark.parametrize("real_broker", ["rabbitmq"], indirect=True)
def test_the_database_down_through_the_last_attempt_leaves_the_job_to_the_sweep(
    db, postgresql_url, fleet, real_broker, worker_on, monkeypatch
):
    broker, queue = real_broker
    actor = declare(broker, queue, max_retries=3, min_backoff=100, max_backoff=200)
    slow_chunks(monkeypatch, 1.0, 20)  # two chunks: the database goes down in the second
    first_done = threading.Event()  # the first chunk's message ran to its end (its event)
    progress_event = bulk_apply.progress_event

    def announced(job: Any) -> None:
        progress_event(job)
        if job.applied + job.skipped + job.failed >= 20:
            first_done.set()

    monkeypatch.setattr(bulk_apply, "progress_event", announced)
    target = urlparse(postgresql_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        via_proxy = connect_url(target._replace(netloc=f"postgres@127.0.0.1:{proxy.port}").geturl())
        database.initialize(via_proxy)
        try:
            job_id = new_job()
            actor.send(job_id)
            worker_on()
            assert wait_until(lambda: handled(job_id) >= 20, 20)
            # only once the first chunk's message has read its job back: down any earlier,
            # and that message would die too
            assert first_done.wait(20)
            proxy.down()  # through both attempts, the give-up and the dead-letter row
            xq = RabbitmqDeadLetters(RABBITMQ_URL)
            assert wait_until(lambda: xq.depths([queue]).get(queue) == 1, 20)
            proxy.up()
            assert status(job_id) == "running"
            assert handled(job_id) == 20
            with connected():
                assert DeadJob.select().count() == 0  # it never reached the database

            sweep = OnTestQueue(broker, queue)
            assert bulk_worker.requeue_stale_jobs(sweep, stalled_after=NOW) == 1
            assert wait_until(lambda: status(job_id) == "completed", 30)
            assert_each_app_commanded_once(job_id, fleet)

            # the message left in .XQ can be replayed: the finished job ignores it
            assert xq.replay(queue) == 1
            assert wait_until(lambda: xq.depths([queue]).get(queue) == 0, 10)
            assert_each_app_commanded_once(job_id, fleet)
        finally:
            via_proxy.close_all()
            database.initialize(db)


def test_a_job_larger_than_one_chunk_is_sent_on_as_one_message_per_chunk(
    fleet, monkeypatch, stub_broker
):
    broker = stub_broker
    monkeypatch.setattr(bulk_apply, "CHUNK_SIZE", 15)  # 15 + 15 + 10 apps
    calls: list[tuple[str, int, int]] = []
    apply_chunk = bulk_apply.apply_chunk

    def counting(job_id: str, start: int, stop: int) -> dict[str, Any]:
        calls.append((job_id, start, stop))
        return apply_chunk(job_id, start, stop)

    monkeypatch.setattr(bulk_apply, "apply_chunk", counting)
    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    try:
        job_id = new_job()
        broker.get_actor("apply_bulk_job").send(job_id)
        assert wait_until(lambda: status(job_id) == "completed", 60)
        broker.join(bulk_worker.QUEUE)
        worker.join()
    finally:
        worker.stop()
    # one message per chunk, each applied once
    assert sorted(calls) == [(job_id, 0, 15), (job_id, 15, 30), (job_id, 30, 40)]
    assert_each_app_commanded_once(job_id, fleet)
    with connected():
        order = [r.app_id for r in BulkJobItem.select().where(BulkJobItem.job == job_id)]
    assert sorted(order) == fleet
