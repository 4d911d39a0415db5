"""One contract, two event buses: the in-process MemoryBus and the real Redis pub/sub.

The Redis bus runs against the local Redis on a channel of its own per test (pub/sub is
not scoped by database number, so the channel is what keeps concurrent runs apart).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import orjson
import pytest

from control.events import Event, EventBus, EventType, InvalidEvent
from control.events.factory import build_bus
from control.events.memory import MemoryBus
from control.events.publish import install, publish, publish_many, uninstall
from control.events.redis_bus import RedisBus

REDIS_URL = "redis://127.0.0.1:6379/15"
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
WAIT = 5.0


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
def make_bus(request: pytest.FixtureRequest) -> Iterator[Callable[[], EventBus]]:
    """Builds buses of one kind that see each other (same channel); closes them after."""
    channel = f"dc:test:{uuid.uuid4().hex}"
    built: list[EventBus] = []
    shared = MemoryBus()

    def make() -> EventBus:
        if request.param == "memory":
            return shared  # one process: publishers and subscribers share the bus
        bus = RedisBus(REDIS_URL, channel=channel)
        built.append(bus)
        return bus

    yield make
    for bus in [*built, shared]:
        bus.close()


def collect(bus: EventBus) -> tuple[list[Event], Callable[[], None]]:
    received: list[Event] = []
    lock = threading.Lock()

    def on_event(event: Event) -> None:
        with lock:
            received.append(event)

    unsubscribe = bus.subscribe(on_event)
    assert bus.listening(WAIT)
    return received, unsubscribe


def status_event(n: int) -> Event:
    return Event.of(
        EventType.APP_STATUS_CHANGED,
        {"app": f"scraper_{n}", "old_status": "IDLE", "new_status": "RUNNING", "n": n},
    )


# -- delivery --------------------------------------------------------------------------


def test_published_events_arrive_once_in_order(make_bus) -> None:
    subscriber, publisher = make_bus(), make_bus()
    received, _ = collect(subscriber)
    for n in range(50):
        assert publisher.publish(status_event(n)) is True
    assert wait_until(lambda: len(received) >= 50)
    time.sleep(0.2)  # nothing more comes
    assert [e.data["n"] for e in received] == list(range(50))
    assert all(e.type is EventType.APP_STATUS_CHANGED for e in received)
    assert wait_until(lambda: publisher.stats().published == 50)
    assert wait_until(lambda: subscriber.stats().received == 50)


def test_every_subscriber_gets_every_event(make_bus) -> None:
    bus = make_bus()
    first, _ = collect(bus)
    second, _ = collect(bus)
    bus.publish(status_event(1))
    assert wait_until(lambda: len(first) == 1 and len(second) == 1)
    assert first[0].to_json() == second[0].to_json()


def test_unsubscribe_stops_delivery(make_bus) -> None:
    bus = make_bus()
    received, unsubscribe = collect(bus)
    kept, _ = collect(bus)
    bus.publish(status_event(1))
    assert wait_until(lambda: len(received) == 1)
    unsubscribe()
    bus.publish(status_event(2))
    assert wait_until(lambda: len(kept) == 2)
    time.sleep(0.1)
    assert [e.data["n"] for e in received] == [1]


def test_every_type_travels_with_the_spec_shape(make_bus) -> None:
    subscriber, publisher = make_bus(), make_bus()
    received, _ = collect(subscriber)
    for kind in EventType:
        publisher.publish(Event.of(kind, {"app": "scraper_x", "kind": kind.value}))
    assert wait_until(lambda: len(received) == len(EventType))
    assert [e.type for e in received] == list(EventType)
    for event in received:
        body = orjson.loads(event.to_json())
        assert set(body) == {"type", "timestamp", "data"}
        assert body["type"] == event.type.value == body["data"]["kind"]
        assert body["timestamp"].endswith("Z")
        assert body["data"]["app"] == "scraper_x"


def test_publishing_from_threads_reaches_an_asyncio_subscriber(make_bus) -> None:
    subscriber, publisher = make_bus(), make_bus()

    async def main() -> list[tuple[int, bool]]:
        loop_thread = threading.get_ident()
        got: list[tuple[int, bool]] = []
        done = asyncio.Event()

        def on_event(event: Event) -> None:
            got.append((event.data["n"], threading.get_ident() == loop_thread))
            if len(got) == 40:
                done.set()

        subscriber.subscribe(on_event)
        assert await asyncio.to_thread(subscriber.listening, WAIT)

        def worker(start: int) -> None:
            for n in range(start, start + 10):
                assert publisher.publish(status_event(n))

        threads = [threading.Thread(target=worker, args=(s,)) for s in (0, 10, 20, 30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        await asyncio.wait_for(done.wait(), WAIT)
        return got

    got = asyncio.run(main())
    assert sorted(n for n, _ in got) == list(range(40))
    assert all(on_loop for _, on_loop in got), "callbacks must run on the subscriber's loop"
    for start in (0, 10, 20, 30):  # each publisher's events stay in its order
        mine = [n for n, _ in got if start <= n < start + 10]
        assert mine == list(range(start, start + 10))


def test_unserialisable_data_is_refused_and_counted(make_bus) -> None:
    bus = make_bus()
    received, _ = collect(bus)
    assert bus.publish(Event.of(EventType.SYSTEM_METRIC, {"bad": object()})) is False
    assert bus.stats().failed == 1
    bus.publish(status_event(1))
    assert wait_until(lambda: len(received) == 1)


def test_a_closed_bus_drops_without_raising(make_bus) -> None:
    bus = make_bus()
    bus.close()
    assert bus.publish(status_event(1)) is False
    assert bus.stats().dropped == 1


def test_a_batch_arrives_as_single_events_in_order(make_bus) -> None:
    subscriber, publisher = make_bus(), make_bus()
    received, _ = collect(subscriber)
    assert publisher.publish(status_event(0)) is True
    assert publisher.publish_many([status_event(n) for n in range(1, 30)]) == 29
    assert publisher.publish(status_event(30)) is True
    assert wait_until(lambda: len(received) >= 31)
    time.sleep(0.2)
    assert [e.data["n"] for e in received] == list(range(31))
    assert wait_until(lambda: publisher.stats().published == 31)
    assert wait_until(lambda: subscriber.stats().received == 31)
    body = orjson.loads(received[5].to_json())
    assert body["type"] == "app.status_changed"
    assert body["timestamp"].endswith("Z")


def test_a_batch_reaches_an_asyncio_subscriber_on_its_loop(make_bus) -> None:
    subscriber, publisher = make_bus(), make_bus()

    async def main() -> list[tuple[int, bool]]:
        loop_thread = threading.get_ident()
        got: list[tuple[int, bool]] = []
        done = asyncio.Event()

        def on_event(event: Event) -> None:
            got.append((event.data["n"], threading.get_ident() == loop_thread))
            if len(got) == 20:
                done.set()

        subscriber.subscribe(on_event)
        assert await asyncio.to_thread(subscriber.listening, WAIT)
        events = [status_event(n) for n in range(20)]
        assert await asyncio.to_thread(publisher.publish_many, events) == 20
        await asyncio.wait_for(done.wait(), WAIT)
        return got

    got = asyncio.run(main())
    assert [n for n, _ in got] == list(range(20))
    assert all(on_loop for _, on_loop in got)


def test_an_unserialisable_event_in_a_batch_is_refused_alone(make_bus) -> None:
    bus = make_bus()
    received, _ = collect(bus)
    bad = Event.of(EventType.SYSTEM_METRIC, {"bad": object()})
    assert bus.publish_many([status_event(1), bad, status_event(2)]) == 2
    assert bus.stats().failed == 1
    assert wait_until(lambda: len(received) == 2)
    assert [e.data["n"] for e in received] == [1, 2]


def test_a_closed_bus_drops_a_batch_without_raising(make_bus) -> None:
    bus = make_bus()
    bus.close()
    assert bus.publish_many([status_event(1), status_event(2)]) == 0
    assert bus.stats().dropped == 2


# -- Redis outages -----------------------------------------------------------------------


@pytest.mark.services
def test_publishing_while_redis_is_down_returns_at_once_and_counts() -> None:
    bus = RedisBus(CLOSED_PORT_URL, channel="dc:test:down")
    try:
        started = time.perf_counter()
        results = [bus.publish(status_event(n)) for n in range(100)]
        elapsed = time.perf_counter() - started
        assert all(results)  # accepted: the loss happens in the background
        assert elapsed < 0.5
        assert wait_until(lambda: bus.stats().failed == 100)
        assert bus.stats().published == 0
    finally:
        bus.close()


@pytest.mark.services
def test_a_full_queue_drops_instead_of_blocking() -> None:
    bus = RedisBus(CLOSED_PORT_URL, channel="dc:test:full", queue_size=10)
    try:
        started = time.perf_counter()
        results = [bus.publish(status_event(n)) for n in range(500)]
        assert time.perf_counter() - started < 0.5
        assert not all(results)
        stats = bus.stats()
        assert stats.dropped == results.count(False) > 0
    finally:
        bus.close()


@pytest.mark.services
def test_subscriber_reconnects_after_a_connection_kill() -> None:
    import redis

    channel = f"dc:test:{uuid.uuid4().hex}"
    subscriber = RedisBus(REDIS_URL, channel=channel)
    publisher = RedisBus(REDIS_URL, channel=channel)
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        received, _ = collect(subscriber)
        publisher.publish(status_event(1))
        assert wait_until(lambda: len(received) == 1)
        # Kill the listener's connection as a Redis restart would. Events published
        # before it has resubscribed are lost (by design), so keep publishing.
        assert admin.client_kill_filter(_type="pubsub") >= 1
        deadline = time.monotonic() + 15
        n = 100
        while time.monotonic() < deadline and not any(e.data["n"] >= 100 for e in received):
            publisher.publish(status_event(n))
            n += 1
            time.sleep(0.1)
        assert any(e.data["n"] >= 100 for e in received), "the listener did not come back"
        assert subscriber.listening(0)
    finally:
        subscriber.close()
        publisher.close()
        admin.close()


# -- the wire form and the process-wide helper -------------------------------------------


def test_the_spec_example_round_trips() -> None:
    raw = (
        '{"type": "app.status_changed", "timestamp": "2025-01-15T07:30:00Z", "data": '
        '{"app": "scraper_company_registry", "old_status": "IDLE", "new_status": "RUNNING"}}'
    )
    event = Event.from_json(raw)
    assert event.type is EventType.APP_STATUS_CHANGED
    assert event.data["new_status"] == "RUNNING"
    assert event.timestamp.isoformat() == "2025-01-15T07:30:00+00:00"
    assert event.as_dict()["timestamp"] == "2025-01-15T07:30:00.000Z"


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"type": "app.unknown", "timestamp": "2025-01-15T07:30:00Z", "data": {}}',
        '{"type": "app.fatal", "timestamp": "yesterday", "data": {}}',
        '{"type": "app.fatal", "timestamp": "2025-01-15T07:30:00Z", "data": []}',
        '{"type": "app.fatal", "data": {}}',
    ],
)
def test_malformed_payloads_are_refused(raw: str) -> None:
    with pytest.raises(InvalidEvent):
        Event.from_json(raw)


def test_the_twelve_types() -> None:
    assert {t.value for t in EventType} == {
        "app.status_changed",
        "app.command_sent",
        "app.fatal",
        "app.health_changed",
        "runtime.started",
        "runtime.completed",
        "runtime.progress",
        "log.entry",
        "system.metric",
        "pipeline.task_updated",
        "bulk.job_updated",
        "notification.sent",
    }


def test_events_made_in_a_batch_match_single_ones() -> None:
    data = [{"app": "scraper_a", "n": n} for n in range(3)]
    batch = Event.many("log.entry", data)
    assert [e.type for e in batch] == [EventType.LOG_ENTRY] * 3
    assert [e.data for e in batch] == data
    assert len({e.timestamp for e in batch}) == 1
    assert batch[0].timestamp.tzinfo is not None
    single = Event(EventType.LOG_ENTRY, data[0], batch[0].timestamp)
    assert batch[0].to_json() == single.to_json() == batch[0].json
    assert batch[0] == single
    with pytest.raises(InvalidEvent):
        Event.many("log.unknown", data)


def test_the_process_helper_publishes_a_batch_on_the_installed_bus() -> None:
    bus = MemoryBus()
    received: list[Event] = []
    bus.subscribe(received.append)
    install(bus)
    try:
        assert publish_many(EventType.LOG_ENTRY, [{"app": "a", "n": n} for n in range(5)]) == 5
        assert publish_many("log.exploded", [{}]) == 0  # never raises
        assert publish_many(EventType.LOG_ENTRY, [{"n": 5}, {"x": object()}, {"n": 6}]) == 2
        assert publish_many(EventType.LOG_ENTRY, []) == 0
    finally:
        uninstall(bus)
    assert [e.data["n"] for e in received] == [0, 1, 2, 3, 4, 5, 6]
    assert bus.stats().failed == 1


def test_the_process_helper_publishes_a_batch_one_by_one_on_a_bus_without_batches() -> None:
    class OneByOne:
        def __init__(self) -> None:
            self.events: list[Event] = []

        def publish(self, event: Event) -> bool:
            self.events.append(event)
            return True

    bus = OneByOne()
    install(bus)  # type: ignore[arg-type]
    try:
        assert publish_many(EventType.LOG_ENTRY, [{"n": 0}, {"n": 1}]) == 2
    finally:
        uninstall(bus)  # type: ignore[arg-type]
    assert [e.data["n"] for e in bus.events] == [0, 1]


def test_build_bus_chooses_by_url() -> None:
    memory = build_bus(None)
    redis_bus = build_bus(REDIS_URL, channel="dc:test:factory")
    try:
        assert isinstance(memory, MemoryBus)
        assert isinstance(redis_bus, RedisBus)
    finally:
        memory.close()
        redis_bus.close()


def test_the_process_helper_publishes_on_the_installed_bus() -> None:
    bus = MemoryBus()
    received: list[Event] = []
    bus.subscribe(received.append)
    install(bus)
    try:
        assert publish("app.fatal", {"app": "scraper_a", "reason": "x"})
        assert publish(EventType.RUNTIME_STARTED, {"app": "scraper_a"})
        # never raises: an unknown type or unserialisable data is logged and refused
        assert publish("app.exploded", {}) is False
        assert publish(EventType.SYSTEM_METRIC, {"x": object()}) is False
    finally:
        uninstall(bus)
    assert [e.type for e in received] == [EventType.APP_FATAL, EventType.RUNTIME_STARTED]
    assert bus.stats().failed == 1
