"""Choose the event bus from settings: Redis pub/sub when configured, else in-process."""

from __future__ import annotations

from control.events.interface import EventBus
from control.events.memory import MemoryBus
from control.events.redis_bus import DEFAULT_CHANNEL, RedisBus


def build_bus(redis_url: str | None, *, channel: str = DEFAULT_CHANNEL) -> EventBus:
    """Redis at ``redis_url`` on ``channel``, or the in-process bus when it is None."""
    return RedisBus(redis_url, channel=channel) if redis_url else MemoryBus()
