"""The bus subscriber that turns events into deliveries, on a thread of its own.

The embedded web process runs one (``workers/embedded.py``); in production the
scheduler process does (``dcctl scheduler``), listening on the Redis bus. Replicas of
that process all hear every event, so each asks ``claim`` first: only the replica that
wins an event routes it (``control.scheduler.lock.claim_event``). A bus callback must
not block, so events wait in a bounded queue for the routing thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from control.errors import Unavailable
from control.events.interface import EventBus, Unsubscribe
from control.events.types import Event, EventType
from control.notifications.routing import notify, sender
from control.notifications.rules import from_bus
from control.tasks.interface import TaskQueue

log = logging.getLogger(__name__)

WATCHED = frozenset(
    {
        EventType.APP_FATAL,
        EventType.RUNTIME_COMPLETED,
        EventType.PIPELINE_TASK_UPDATED,
        EventType.APP_HEALTH_CHANGED,
    }
)


Claim = Callable[[Event], bool]


class NotificationRouter:
    """Subscribes to ``bus``; routes the watched events and sends their deliveries
    through ``tasks``.

    ``claim`` (optional) says whether this process routes an event that calls for a
    notification; one that cannot answer (``Unavailable``) is taken as yes: a duplicate,
    which the channel's dedup window usually drops, beats a missed alert.
    """

    def __init__(
        self,
        bus: EventBus,
        tasks: TaskQueue,
        error_rate_threshold: float,
        claim: Claim | None = None,
    ) -> None:
        self._bus = bus
        self._enqueue = sender(tasks)
        self._threshold = error_rate_threshold
        self._claim = claim
        self.routed = 0
        self._events: queue.Queue[Event | None] = queue.Queue(maxsize=1000)
        self._thread: threading.Thread | None = None
        self._unsubscribe: Unsubscribe | None = None

    def _offer(self, event: Event) -> None:
        if event.type in WATCHED:
            try:
                self._events.put_nowait(event)
            except queue.Full:
                log.warning("notification router is behind; %s dropped", event.type.value)

    def _run(self) -> None:
        while (event := self._events.get()) is not None:
            try:
                found = from_bus(event, self._threshold)
                if found is not None and self._claimed(event):
                    notify(found, self._enqueue)
                    self.routed += 1
            except Exception:
                log.exception("could not route %s to notification channels", event.type.value)

    def _claimed(self, event: Event) -> bool:
        if self._claim is None:
            return True
        try:
            return self._claim(event)
        except Unavailable:
            log.warning("cannot claim %s (guard unavailable); routing it here", event.type.value)
            return True

    def start(self) -> None:
        """Subscribe and start the routing thread."""
        self._thread = threading.Thread(target=self._run, name="dc-notify-router", daemon=True)
        self._thread.start()
        self._unsubscribe = self._bus.subscribe(self._offer)

    def stop(self, timeout: float = 5.0) -> None:
        """Unsubscribe and let the thread finish the queued events."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            self._events.put(None)
            self._thread.join(timeout)
            self._thread = None
