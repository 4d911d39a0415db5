"""The production home of the notification router: the scheduler process.

Bus events reach it over the real Redis; each replica claims an event with the
scheduler's lock, so two replicas route it once. The last test runs ``dcctl scheduler``
itself and follows an ``app.fatal`` from Redis to a delivery row and its message on the
(Redis) broker's ``notifications`` queue.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.stub import StubBroker
from peewee import Database

from control.db.database import dialect
from control.errors import Unavailable
from control.events import Event, EventType
from control.events.redis_bus import RedisBus
from control.notifications import services as channels
from control.notifications.models import NotificationDelivery
from control.scheduler.jobs import NOTIFICATIONS_QUEUE
from control.scheduler.lock import DatabaseTickLock, RedisTickLock, TickLock
from control.scheduler.notify import build_router
from control.tasks.actors import SEND_NOTIFICATION
from control.tasks.dramatiq import DramatiqTaskQueue
from tests.live_server import DCCTL, server_env
from tests.waiting import wait_until

REDIS_URL = "redis://127.0.0.1:6379/11"

pytestmark = pytest.mark.services


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def bus_channel() -> str:
    return f"dc:test:events:{uuid.uuid4().hex[:8]}"


@pytest.fixture
def fatal_channel(db: Database) -> dict:
    """A webhook channel for app.fatal with no dedup window: only the claim dedups."""
    return channels.create_channel(
        name=f"ops-{uuid.uuid4().hex[:6]}",
        type="webhook",
        config={"url": "http://127.0.0.1:9/hook", "secret": "whsec-scheduler-test-secret"},
        events=["app.fatal"],
        dedup_window_seconds=0,
    )


def queued_sends(broker: StubBroker) -> list[dramatiq.Message]:
    queue = broker.queues.get(NOTIFICATIONS_QUEUE)
    found = []
    while queue is not None and not queue.empty():
        found.append(dramatiq.Message.decode(queue.get_nowait()))
    return found


def deliveries() -> list[NotificationDelivery]:
    return list(NotificationDelivery.select().order_by(NotificationDelivery.id))


def two_replicas_route_each_event_once(
    locks: tuple[TickLock, TickLock], bus_channel: str, apps: list[str]
) -> StubBroker:
    broker = StubBroker()
    broker.declare_queue(NOTIFICATIONS_QUEUE)
    buses = [RedisBus(REDIS_URL, channel=bus_channel) for _ in range(3)]
    routers = [
        build_router(bus, lock, DramatiqTaskQueue(broker), 0.25)
        for bus, lock in zip(buses[:2], locks, strict=True)
    ]
    try:
        for router in routers:
            router.start()
        assert all(bus.listening(5) for bus in buses[:2])
        for app in apps:
            buses[2].publish(Event.of(EventType.APP_FATAL, {"app": app, "reason": "boom"}))
        assert wait_until(lambda: sum(r.routed for r in routers) == len(apps), 15)
        time.sleep(0.3)  # room for a second, wrong, routing
        assert sum(r.routed for r in routers) == len(apps)
    finally:
        for router in routers:
            router.stop()
        for bus in buses:
            bus.close()
    return broker


def test_two_replicas_on_the_redis_guard_route_an_event_once(
    db, redis_client, bus_channel, fatal_channel
):
    apps = [f"scraper_{n}" for n in range(5)]
    lock = RedisTickLock.from_url(REDIS_URL)
    broker = two_replicas_route_each_event_once((lock, lock), bus_channel, apps)
    rows = deliveries()
    assert sorted(r.data["app"] for r in rows) == apps  # one delivery per event
    sends = queued_sends(broker)
    assert sorted(m.args[0] for m in sends) == sorted(r.id for r in rows)
    assert {m.actor_name for m in sends} == {SEND_NOTIFICATION.name}


def test_two_replicas_on_the_database_guard_route_an_event_once(
    db, redis_client, bus_channel, fatal_channel
):
    apps = [f"etl_{n}" for n in range(5)]
    broker = two_replicas_route_each_event_once(
        (DatabaseTickLock(), DatabaseTickLock()), bus_channel, apps
    )
    assert sorted(r.data["app"] for r in deliveries()) == apps
    assert len(queued_sends(broker)) == len(apps)


class DownLock:
    def acquire(self, job: str, tick: int, ttl_seconds: int) -> bool:
        raise Unavailable("Redis is unreachable.")


def test_a_guard_that_cannot_answer_routes_rather_than_drops(
    db, redis_client, bus_channel, fatal_channel
):
    broker = StubBroker()
    broker.declare_queue(NOTIFICATIONS_QUEUE)
    bus = RedisBus(REDIS_URL, channel=bus_channel)
    publisher = RedisBus(REDIS_URL, channel=bus_channel)
    router = build_router(bus, DownLock(), DramatiqTaskQueue(broker), 0.25)
    router.start()
    try:
        assert bus.listening(5)
        publisher.publish(Event.of(EventType.APP_FATAL, {"app": "scraper_x"}))
        assert wait_until(lambda: router.routed == 1, 15)
    finally:
        router.stop()
        bus.close()
        publisher.close()
    assert len(deliveries()) == 1
    assert len(queued_sends(broker)) == 1


def test_dcctl_scheduler_routes_bus_events_to_the_workers(
    request, db, redis_client, bus_channel, fatal_channel, tmp_path
):
    env = server_env(
        request.getfixturevalue(f"{dialect(db)}_url"),
        DC_BROKER="redis",
        DC_REDIS_URL=REDIS_URL,
        DC_EVENTS_CHANNEL=bus_channel,
    )
    log_path = tmp_path / "scheduler.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(DCCTL), "scheduler"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    publisher = RedisBus(REDIS_URL, channel=bus_channel)
    try:
        started = wait_until(lambda: b"routing events" in log_path.read_bytes(), 30)
        assert started, log_path.read_text()
        # the router subscribes right after that line: publish until one is routed
        assert wait_until(
            lambda: (
                publisher.publish(Event.of(EventType.APP_FATAL, {"app": "scraper_registry"}))
                and wait_until(lambda: len(deliveries()) > 0, 0.5)
            ),
            20,
        ), log_path.read_text()
    finally:
        publisher.close()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, log_path.read_text()
    rows = deliveries()
    assert {r.data["app"] for r in rows} == {"scraper_registry"}
    # the send waits on the Redis broker's notifications queue, by actor name
    stored = redis_client.hvals(f"dramatiq:{NOTIFICATIONS_QUEUE}.msgs")
    messages = [dramatiq.Message.decode(raw) for raw in stored]
    assert {(m.actor_name, m.args[0]) for m in messages} >= {(SEND_NOTIFICATION.name, rows[0].id)}
    assert b"whsec-scheduler-test-secret" not in log_path.read_bytes()
