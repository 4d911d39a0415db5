"""The double-fire guard: one replica wins each ``(job, tick)``, the others skip it.

Every replica computes the same tick for a job (``floor(now / interval)``), then asks
the guard. With Redis the guard is ``SET dc:sched:<job>:<tick> NX EX``; without it, an
insert into ``scheduler_tick`` whose primary key is ``(job, tick)``: the second insert
fails on the key, on SQLite and PostgreSQL alike. A guard that cannot answer raises
``Unavailable`` and the tick is skipped (a missed sample beats a doubled one; the next
tick comes soon).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Protocol

import redis
from peewee import (
    IntegrityError,
    PeeweeException,
)

from control.clock import utcnow
from control.db.database import connected, write_transaction
from control.errors import Unavailable
from control.events.types import Event
from control.scheduler.models import SchedulerTick

KEY_PREFIX = "dc:sched:"
EVENT_CLAIM_SECONDS = 3600  # a replica hears an event within this, or never
KEEP_TICKS = dt.timedelta(days=1)  # rows older than this are pruned now and then
PRUNE_EVERY = 500  # acquisitions between prunes of the table


class TickLock(Protocol):
    """Who fires a job's tick."""

    def acquire(self, job: str, tick: int, ttl_seconds: int) -> bool:
        """True for exactly one caller per ``(job, tick)`` across every replica."""
        ...


class RedisTickLock:
    """``SET NX EX`` in Redis: the key expires once no replica can compute that tick."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 2.0) -> RedisTickLock:
        """A lock on the Redis at ``url``."""
        return cls(
            redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        )

    def acquire(self, job: str, tick: int, ttl_seconds: int) -> bool:
        try:
            won = self._redis.set(
                f"{KEY_PREFIX}{job}:{tick}", b"1", nx=True, ex=max(1, ttl_seconds)
            )
        except redis.RedisError as exc:
            raise Unavailable("Redis is unreachable.") from exc
        return bool(won)


class DatabaseTickLock:
    """A unique ``(job, tick)`` row: the insert that succeeds fires the tick."""

    def __init__(self) -> None:
        self._acquired = 0

    def acquire(self, job: str, tick: int, ttl_seconds: int) -> bool:
        try:
            with connected():
                try:
                    with write_transaction():
                        SchedulerTick.insert(job=job, tick=tick, fired_at=utcnow()).execute()
                except IntegrityError:
                    return False
                self._acquired += 1
                if self._acquired % PRUNE_EVERY == 0:
                    self.prune()
                return True
        except PeeweeException as exc:
            raise Unavailable("The database is unreachable.") from exc

    @staticmethod
    def prune(older_than: dt.timedelta = KEEP_TICKS) -> int:
        """Delete guard rows older than ``older_than``; how many."""
        removed: int = (
            SchedulerTick.delete().where(SchedulerTick.fired_at < utcnow() - older_than).execute()
        )
        return removed


def build_lock(redis_url: str | None) -> TickLock:
    """Redis's guard when ``redis_url`` is set, else the database's."""
    if redis_url:
        return RedisTickLock.from_url(redis_url)
    return DatabaseTickLock()


def claim_event(lock: TickLock, event: Event) -> bool:
    """Whether this replica handles ``event``: the same guard, keyed by the event itself.

    Every replica receives the same bytes from the bus, so the digest of the event's
    JSON names it alike everywhere; exactly one ``acquire`` wins.
    """
    digest = hashlib.sha256(event.json.encode()).hexdigest()[:40]
    return lock.acquire(f"event:{digest}", 0, ttl_seconds=EVENT_CLAIM_SECONDS)
