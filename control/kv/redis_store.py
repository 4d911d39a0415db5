"""Redis key-value store: counters and flags shared by every process."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from control.errors import Unavailable
from control.kv.interface import WindowCount

PREFIX = "dc:"


class RedisStore:
    """Fixed-window counters (INCRBY + EXPIRE in one transaction) and TTL flags."""

    blocking = True  # a round trip to Redis, up to its timeout

    def __init__(
        self, url: str, *, timeout: float = 1.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
        )
        self._clock = clock  # picks the window; the flags' TTLs are Redis's own

    def hit(self, key: str, window_seconds: int, amount: int = 1) -> WindowCount:
        window = int(self._clock()) // window_seconds
        name = f"{PREFIX}rl:{key}:{window_seconds}:{window}"
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incrby(name, amount)
            pipe.expire(name, window_seconds + 1)
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            raise Unavailable("Redis is unreachable.") from exc
        return WindowCount(int(count), (window + 1) * window_seconds)

    def peek(self, key: str, window_seconds: int) -> WindowCount:
        window = int(self._clock()) // window_seconds
        try:
            value = self._redis.get(f"{PREFIX}rl:{key}:{window_seconds}:{window}")
        except redis.RedisError as exc:
            raise Unavailable("Redis is unreachable.") from exc
        return WindowCount(int(value or 0), (window + 1) * window_seconds)

    def set_flag(self, key: str, ttl_seconds: int) -> None:
        try:
            self._redis.set(f"{PREFIX}flag:{key}", b"1", ex=max(1, ttl_seconds))
        except redis.RedisError as exc:
            raise Unavailable("Redis is unreachable.") from exc

    def has_flag(self, key: str) -> bool:
        try:
            return bool(self._redis.exists(f"{PREFIX}flag:{key}"))
        except redis.RedisError as exc:
            raise Unavailable("Redis is unreachable.") from exc

    def ping(self) -> float:
        started = time.perf_counter()
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            raise Unavailable("Redis is unreachable.") from exc
        return (time.perf_counter() - started) * 1000
