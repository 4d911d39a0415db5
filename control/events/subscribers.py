"""Delivering one event to the subscribers of this process, from any thread."""

from __future__ import annotations

import asyncio
import logging
import threading

from control.events.interface import Callback, Counters, Unsubscribe
from control.events.types import Event

log = logging.getLogger(__name__)


def _call(callback: Callback, event: Event) -> None:
    try:
        callback(event)
    except Exception:
        log.exception("event subscriber %r failed on %s", callback, event.type.value)


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
        with self._lock:
            entries = list(self._entries.items())
        if not entries:
            return
        self._counters.add("received")
        for key, (loop, callback) in entries:
            if loop is None:
                _call(callback, event)
                continue
            try:
                loop.call_soon_threadsafe(_call, callback, event)
            except RuntimeError:  # the loop is closed: that subscriber is gone
                with self._lock:
                    self._entries.pop(key, None)
                self._counters.add("dropped")
