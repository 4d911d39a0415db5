"""Delivering events to the subscribers of this process, from any thread."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence

from control.events.interface import Callback, Counters, Unsubscribe
from control.events.types import Event

log = logging.getLogger(__name__)


def _call(callback: Callback, event: Event) -> None:
    try:
        callback(event)
    except Exception:
        log.exception("event subscriber %r failed on %s", callback, event.type.value)


def _call_each(callback: Callback, events: Sequence[Event]) -> None:
    for event in events:
        _call(callback, event)


class Subscribers:
    """The callbacks of one bus, each with the asyncio loop it runs on (or none)."""

    def __init__(self, counters: Counters) -> None:
        self._counters = counters
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[asyncio.AbstractEventLoop | None, Callback]] = {}
        self._next = 0

    def add(self, callback: Callback) -> Unsubscribe:
        """Register ``callback`` on the running loop, if any; returns its removal."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            key = self._next
            self._next += 1
            self._entries[key] = (loop, callback)

        def remove() -> None:
            with self._lock:
                self._entries.pop(key, None)

        return remove

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def deliver(self, event: Event) -> None:
        """Hand ``event`` to every subscriber; never raises, never waits for a loop."""
        self.deliver_many((event,))

    def deliver_many(self, events: Sequence[Event]) -> None:
        """Hand each of ``events`` in order to every subscriber, as :meth:`deliver` does.

        A subscriber on a loop gets the batch in one ``call_soon_threadsafe`` (one wake-up
        of its loop, not one per event), its callback still called once per event.
        """
        if not events:
            return
        with self._lock:
            entries = list(self._entries.items())
        if not entries:
            return
        self._counters.add("received", len(events))
        for key, (loop, callback) in entries:
            if loop is None:
                _call_each(callback, events)
                continue
            try:
                if len(events) == 1:
                    loop.call_soon_threadsafe(_call, callback, events[0])
                else:
                    loop.call_soon_threadsafe(_call_each, callback, events)
            except RuntimeError:  # the loop is closed: that subscriber is gone
                with self._lock:
                    self._entries.pop(key, None)
                self._counters.add("dropped", len(events))
