"""The in-process event bus of the embedded default: one process, no server."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from control.events.interface import BusStats, Callback, Counters, Unsubscribe
from control.events.outage import ThrottledWarning
from control.events.subscribers import Subscribers
from control.events.types import Event, serialisable

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
        return self.publish_many((event,)) == 1

    def publish_many(self, events: Sequence[Event]) -> int:
        """:meth:`publish` of each event in order, the JSON check made once for the batch.

        The events' JSON is not built here: an in-process subscriber that needs it (the
        WebSocket hub, for a client whose filter matches) builds it once per event.
        """
        if self._closed:
            self._counters.add("dropped", len(events))
            return 0
        if not serialisable(events):  # the same check as the Redis bus: it must serialise
            events = [event for event in events if self._serialises(event)]
        self._counters.add("published", len(events))
        self._subscribers.deliver_many(events)
        return len(events)

    def _serialises(self, event: Event) -> bool:
        try:
            event.to_json()
        except TypeError as exc:
            self._counters.add("failed")
            self._warning.warn("event %s not published: %s", event.type.value, exc)
            return False
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
