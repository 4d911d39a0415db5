"""Two scheduler replicas never send the same tick twice: Redis guard, then the database's.

Both runners live in this process, share one guard backend and one ``StubBroker`` (the
queue the workers would read), and fire every job at every tick from two threads at
once, with clocks a little apart: each job's message is enqueued exactly once per tick.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.stub import StubBroker
from peewee import Database

from control.clock import utcnow
from control.scheduler.jobs import PeriodicJob, periodic_jobs
from control.scheduler.lock import DatabaseTickLock, RedisTickLock, TickLock
from control.scheduler.models import SchedulerTick
from control.scheduler.runner import SchedulerRunner, misfire_grace
from control.settings import load_settings
from control.tasks.dramatiq import DramatiqTaskQueue

REDIS_URL = "redis://127.0.0.1:6379/13"
TICKS = 12
START = 1_800_000_000.0  # a fixed epoch: every interval below divides it


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def stub() -> Iterator[StubBroker]:
    broker = StubBroker()
    yield broker
    broker.close()


def jobs() -> list[PeriodicJob]:
    return periodic_jobs(
        load_settings(
            schedule_metrics_seconds=30,
            schedule_retention_seconds=3600,
            schedule_stale_seconds=60,
            schedule_tokens_seconds=1800,
            schedule_notifications_requeue_seconds=300,
            schedule_bulk_requeue_seconds=60,
        )
    )


def sent(broker: StubBroker) -> Counter[tuple[str, int]]:
    """(actor, tick) → how many messages the queues hold for it."""
    found: Counter[tuple[str, int]] = Counter()
    for queue in broker.queues.values():
        while not queue.empty():
            message = dramatiq.Message.decode(queue.get_nowait())
            found[(message.actor_name, message.options["scheduler_tick"])] += 1
    return found


def run_two_replicas(first: TickLock, second: TickLock, broker: StubBroker) -> Counter:
    declared = jobs()
    replicas = [
        SchedulerRunner(declared, lock, DramatiqTaskQueue(broker)) for lock in (first, second)
    ]
    for replica in replicas:
        replica.schedule()  # declares the queues; the APScheduler is not started
    expected: Counter[tuple[str, int]] = Counter()
    for step in range(TICKS):
        for job in declared:
            now = START + step * job.interval
            barrier = threading.Barrier(len(replicas))

            def fire(replica: SchedulerRunner, skew: float, job=job, now=now, barrier=barrier):
                barrier.wait()
                replica.fire(job, now=now + skew)

            threads = [
                threading.Thread(target=fire, args=(replica, skew))
                for replica, skew in zip(replicas, (0.0, 0.4 * job.interval), strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            expected[(job.actor, job.tick(now))] += 1
    found = sent(broker)
    assert found == expected  # every job, every tick, exactly once
    assert sum(r.sent for r in replicas) == TICKS * len(declared)
    return found


@pytest.mark.services
def test_two_replicas_on_redis_send_each_tick_once(redis_client, stub):
    run_two_replicas(RedisTickLock(redis_client), RedisTickLock.from_url(REDIS_URL), stub)
    # the keys expire on their own
    ttl = redis_client.ttl(next(iter(redis_client.scan_iter("dc:sched:*"))))
    assert 0 < ttl <= 2 * 3600


def test_two_replicas_on_the_database_send_each_tick_once(db: Database, stub):
    run_two_replicas(DatabaseTickLock(), DatabaseTickLock(), stub)
    with db.connection_context():
        assert SchedulerTick.select().count() == TICKS * len(jobs())


@pytest.mark.services
def test_a_replica_that_lost_the_tick_sends_nothing_and_the_next_tick_fires(redis_client, stub):
    job = PeriodicJob("metrics", "sample_metrics", "maintenance", 30)
    first = SchedulerRunner([job], RedisTickLock(redis_client), DramatiqTaskQueue(stub))
    second = SchedulerRunner([job], RedisTickLock(redis_client), DramatiqTaskQueue(stub))
    first.schedule()
    assert first.fire(job, now=START) is True
    assert second.fire(job, now=START + 29) is False  # same tick
    assert second.fire(job, now=START + 30) is True  # the next one
    assert sent(stub) == Counter(
        {("sample_metrics", job.tick(START)): 1, ("sample_metrics", job.tick(START) + 1): 1}
    )


def test_apscheduler_jobs_coalesce_with_a_misfire_grace_and_one_instance(stub):
    runner = SchedulerRunner(jobs(), DatabaseTickLock(), DramatiqTaskQueue(stub))
    scheduled = {job.id: job for job in runner.schedule().get_jobs()}
    assert set(scheduled) == {
        "metrics",
        "retention",
        "partitions",
        "stale_runtimes",
        "health",
        "rollups",
        "rollups_function_pairs",
        "rollups_pipelines",
        "rollups_audit",
        "rollups_runtimes",
        "tokens",
        "notifications_requeue",
        "bulk_requeue",
    }
    for declared in runner.jobs:
        job = scheduled[declared.name]
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == misfire_grace(declared)
        assert job.trigger.interval.total_seconds() == declared.interval


@pytest.mark.services
def test_two_running_schedulers_fire_each_tick_once(redis_client, stub):
    job = PeriodicJob("metrics", "sample_metrics", "maintenance", 1)
    replicas = [
        SchedulerRunner([job], RedisTickLock.from_url(REDIS_URL), DramatiqTaskQueue(stub))
        for _ in range(2)
    ]
    for replica in replicas:
        replica.start()
    try:
        time.sleep(3.5)
    finally:
        for replica in replicas:
            replica.stop()
    found = sent(stub)
    assert found, "nothing was sent"
    assert set(found.values()) == {1}  # no tick twice
    assert sum(r.sent for r in replicas) == sum(found.values())


def test_old_guard_rows_are_pruned(db: Database):
    with db.connection_context():
        SchedulerTick.create(job="metrics", tick=1, fired_at=utcnow() - dt.timedelta(days=2))
        SchedulerTick.create(job="metrics", tick=2, fired_at=utcnow())
        assert DatabaseTickLock.prune() == 1
        assert [row.tick for row in SchedulerTick.select()] == [2]
