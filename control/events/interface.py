"""The contract every event bus meets, and its counters.

Two implementations: :class:`~control.events.memory.MemoryBus` (one process, the
embedded default) and :class:`~control.events.redis_bus.RedisBus` (pub/sub on one
channel, shared by every process). ``tests/unit/events/test_bus_conformance.py`` runs
the same suite over both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from control.events.types import Event

Callback = Callable[[Event], None]
Unsubscribe = Callable[[], None]


@dataclass(frozen=True)
class BusStats:
    """What a bus has done since it was built.

    ``published``: events handed to the transport; ``failed``: events lost because the
    server could not be reached (or the event could not be serialised); ``dropped``:
    events refused because the outgoing queue was full, or not delivered because a
    subscriber's loop had closed; ``received``: events delivered to this process's
    subscribers (once per event, however many subscribers).
    """

    published: int = 0
    failed: int = 0
    dropped: int = 0
    received: int = 0


class Counters:
    """Thread-safe counters behind :class:`BusStats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(("published", "failed", "dropped", "received"), 0)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def snapshot(self) -> BusStats:
        with self._lock:
            return BusStats(**self._values)


class EventBus(Protocol):
    """Publish events from anywhere; deliver them to every subscriber of every process.

    Delivery is at most once and in publishing order per publisher; an event published
    while the transport is down is lost (logged and counted), never retried later.
    """

    def publish(self, event: Event) -> bool:
        """Hand ``event`` over without blocking and without raising.

        True when it was accepted; False when it was dropped (queue full, closed bus,
        unserialisable data), which is counted and logged at a limited rate.
        """
        ...

    def publish_many(self, events: Sequence[Event]) -> int:
        """Hand ``events`` over in their order as :meth:`publish` would one by one.

        Each still reaches every subscriber as an event of its own, in order; a bus
        does the per-event work once per batch where it can. Returns how many were
        accepted (an unserialisable one is refused alone, the others go on).
        """
        ...

    def subscribe(self, callback: Callback) -> Unsubscribe:
        """Call ``callback(event)`` for every event; returns the function that stops it.

        Subscribed from inside a running asyncio loop, the callback runs on that loop
        (scheduled with ``call_soon_threadsafe``, whichever thread published); otherwise
        it runs in the delivering thread. It must not block.
        """
        ...

    def listening(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s until events published now reach the subscribers."""
        ...

    def stats(self) -> BusStats:
        """The counters so far."""
        ...

    def close(self) -> None:
        """Stop delivering and release the connections (idempotent)."""
        ...
