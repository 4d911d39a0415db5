"""Choose the key-value store from settings: Redis when configured, else memory."""

from __future__ import annotations

from control.kv.interface import KeyValueStore
from control.kv.memory import MemoryStore
from control.kv.redis_store import RedisStore


def build_store(redis_url: str | None) -> KeyValueStore:
    """Redis at ``redis_url``, or the in-process store when it is None."""
    return RedisStore(redis_url) if redis_url else MemoryStore()
