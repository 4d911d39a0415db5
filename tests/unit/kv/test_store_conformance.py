"""One contract, two key-value stores: the in-process MemoryStore and the real Redis.

MemoryStore runs on a fake clock (no sleeping); RedisStore runs against db 15 of the local
Redis, flushed before each test, on the real clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis

from control.errors import Unavailable
from control.kv import KeyValueStore, WindowCount
from control.kv.memory import MemoryStore
from control.kv.redis_store import PREFIX, RedisStore

REDIS_URL = "redis://127.0.0.1:6379/15"
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"


class FakeClock:
    """A settable clock for MemoryStore, started at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """A store plus the clock it runs on, and how to let time pass for it."""

    store: KeyValueStore
    now: Callable[[], float]
    advance: Callable[[float], None]
    kind: str


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
def harness(request: pytest.FixtureRequest) -> Harness:
    if request.param == "memory":
        clock = FakeClock()
        return Harness(MemoryStore(clock=clock), clock, clock.advance, "memory")
    request.getfixturevalue("redis_client")  # flushed db 15
    return Harness(RedisStore(REDIS_URL), time.time, _sleep, "redis")


# -- counters --------------------------------------------------------------------------


def test_hit_counts_up(harness: Harness) -> None:
    store = harness.store
    assert store.hit("a", 60).count == 1
    assert store.hit("a", 60).count == 2
    assert store.hit("a", 60, amount=5).count == 7


def test_keys_are_separate(harness: Harness) -> None:
    store = harness.store
    store.hit("a", 60)
    store.hit("a", 60)
    assert store.hit("b", 60).count == 1
    assert store.peek("a", 60).count == 2


def test_window_sizes_are_separate(harness: Harness) -> None:
    store = harness.store
    store.hit("a", 60)
    store.hit("a", 60)
    assert store.hit("a", 3600).count == 1
    assert store.peek("a", 60).count == 2


def test_reset_at_is_in_the_future_and_aligned(harness: Harness) -> None:
    for size in (1, 10, 60, 3600):
        before = harness.now()
        window = harness.store.hit(f"k{size}", size)
        assert isinstance(window, WindowCount)
        assert isinstance(window.reset_at, int)
        assert window.reset_at % size == 0
        assert before < window.reset_at <= before + size
    # Every hit in one window reports the same end.
    first = harness.store.hit("same", 3600).reset_at
    assert harness.store.hit("same", 3600).reset_at == first


def test_peek_does_not_increment(harness: Harness) -> None:
    store = harness.store
    unseen = store.peek("fresh", 60)
    assert unseen.count == 0
    assert unseen.reset_at % 60 == 0
    assert unseen.reset_at > harness.now()
    store.hit("fresh", 60)
    assert store.peek("fresh", 60).count == 1
    assert store.peek("fresh", 60).count == 1
    assert store.hit("fresh", 60).count == 2
    assert store.peek("fresh", 60) == store.peek("fresh", 60)


def test_a_new_window_starts_from_zero(harness: Harness) -> None:
    store = harness.store
    first = store.hit("roll", 1)
    store.hit("roll", 1)
    harness.advance(max(0.0, first.reset_at - harness.now()) + 0.05)
    second = store.hit("roll", 1)
    assert second.count == 1
    assert second.reset_at > first.reset_at


def test_concurrent_hits_are_all_counted(harness: Harness) -> None:
    store = harness.store

    def worker() -> None:
        for _ in range(25):
            store.hit("busy", 3600)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.peek("busy", 3600).count == 200


# -- flags -----------------------------------------------------------------------------


def test_flags_set_and_check(harness: Harness) -> None:
    store = harness.store
    assert store.has_flag("f") is False
    store.set_flag("f", 60)
    assert store.has_flag("f") is True
    assert store.has_flag("other") is False


def test_flags_and_counters_do_not_collide(harness: Harness) -> None:
    store = harness.store
    store.hit("same-name", 60)
    assert store.has_flag("same-name") is False
    store.set_flag("same-name", 60)
    assert store.peek("same-name", 60).count == 1


def test_flags_expire(harness: Harness) -> None:
    store = harness.store
    store.set_flag("short", 1)
    store.set_flag("long", 30)
    assert store.has_flag("short") is True
    harness.advance(1.2)
    assert store.has_flag("short") is False
    assert store.has_flag("long") is True


def test_setting_a_flag_again_extends_it(harness: Harness) -> None:
    store = harness.store
    store.set_flag("again", 1)
    store.set_flag("again", 30)
    harness.advance(1.2)
    assert store.has_flag("again") is True


def test_ping_answers_in_milliseconds(harness: Harness) -> None:
    latency = harness.store.ping()
    assert isinstance(latency, float)
    assert 0.0 <= latency < 1000.0


# -- Redis specifics -------------------------------------------------------------------


@pytest.mark.services
def test_redis_counters_expire_with_their_window(redis_client: redis.Redis) -> None:
    RedisStore(REDIS_URL).hit("ttl", 60)
    keys = redis_client.keys(f"{PREFIX}rl:ttl:*")
    assert len(keys) == 1
    assert 0 < redis_client.ttl(keys[0]) <= 61


@pytest.mark.services
def test_redis_processes_share_counters(redis_client: redis.Redis) -> None:
    clock = FakeClock()  # both "processes" read the same time: no window edge between hits
    one, two = RedisStore(REDIS_URL, clock=clock), RedisStore(REDIS_URL, clock=clock)
    one.hit("shared", 3600)
    two.hit("shared", 3600)
    assert one.peek("shared", 3600).count == 2
    two.set_flag("shared-flag", 60)
    assert one.has_flag("shared-flag") is True


@pytest.mark.services
def test_redis_windows_are_fixed_and_shared(redis_client: redis.Redis) -> None:
    # The rate limit's windows, without waiting for a minute to turn: an injected clock
    clock = FakeClock()
    clock.now = 1_800_000_030.0  # half a minute into a window
    one, two = RedisStore(REDIS_URL, clock=clock), RedisStore(REDIS_URL, clock=clock)
    assert [s.hit("ip:x", 60).count for s in (one, one, two, two)] == [1, 2, 3, 4]
    assert one.hit("ip:x", 60).reset_at == 1_800_000_060
    clock.advance(29.5)  # still the same window
    assert two.hit("ip:x", 60).count == 6
    clock.advance(1.0)  # the next one: a fresh count for every process
    assert one.hit("ip:x", 60) == WindowCount(1, 1_800_000_120)
    assert two.peek("ip:x", 60).count == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.hit("x", 60),
        lambda s: s.peek("x", 60),
        lambda s: s.set_flag("x", 60),
        lambda s: s.has_flag("x"),
        lambda s: s.ping(),
    ],
    ids=["hit", "peek", "set_flag", "has_flag", "ping"],
)
def test_redis_down_raises_unavailable(call: Callable[[RedisStore], object]) -> None:
    store = RedisStore(CLOSED_PORT_URL, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        call(store)
    assert time.monotonic() - started < 5
