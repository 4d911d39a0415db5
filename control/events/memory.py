"""The in-process event bus of the embedded default: one process, no server."""

from __future__ import annotations

import logging

from control.events.interface import BusStats, Callback, Counters, Unsubscribe
from control.events.outage import ThrottledWarning
from control.events.subscribers import Subscribers
from control.events.types import Event

log = logging.getLogger(__name__)


class MemoryBus:
    """Delivers each published event to this process's subscribers.

    Publishing from a worker thread schedules the callbacks on their loops with
    ``call_soon_threadsafe`` and returns at once; it never waits for a subscriber.
    """

    def __init__(self) -> None:
        self._counters = Counters()
        self._subscribers = Subscribers(self._counters)
        self._closed = False
        self._warning = ThrottledWarning(log)

    def publish(self, event: Event) -> bool:
        if self._closed:
            self._counters.add("dropped")
            return False
        try:
            event.to_json()  # the same check as the Redis bus: it must serialise
        except TypeError as exc:
            self._counters.add("failed")
            self._warning.warn("event %s not published: %s", event.type.value, exc)
            return False
        self._counters.add("published")
        self._subscribers.deliver(event)
        return True

    def subscribe(self, callback: Callback) -> Unsubscribe:
        return self._subscribers.add(callback)

    def listening(self, timeout: float) -> bool:
        return not self._closed

    def stats(self) -> BusStats:
        return self._counters.snapshot()

    def close(self) -> None:
        self._closed = True
        self._subscribers.clear()
