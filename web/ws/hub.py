"""The per-process fan-out: one bus subscription, one bounded outbox per client.

The hub subscribes to the event bus once, at start-up, and on each event puts the
event's JSON (serialised once) into the outbox of every client whose filter matches.
Each client's writer task drains its own outbox, so a client that reads slowly only
fills its own outbox: when it is behind, the oldest frames are dropped, and the client
is told with one ``{"type": "dropped", "data": {"count": n}}`` frame before the next one
it gets. Nobody else waits for it.

"Behind" means more than ``limit`` frames waiting *and* the oldest of them waiting longer
than ``GRACE`` seconds. A burst that arrives all at once (the Redis listener hands the
loop a whole pipelined batch before any writer runs, and a loaded machine stalls the loop
now and then) can put more than ``limit`` frames in the outbox of a client that reads
promptly; that client gets them all. Memory stays bounded: past ``BURST_FACTOR`` times
``limit`` the oldest are dropped whatever their age.

It also counts connections per client address and per user for the limits, and runs
with the app's lifespan (``process_startup`` / ``process_shutdown``): it installs its
bus as the process's bus for :func:`control.events.publish.publish`, so in the embedded
default whatever runs in the web process reaches its clients.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from control.events.interface import EventBus, Unsubscribe
from control.events.publish import install, uninstall
from control.events.types import Event
from web.ws import protocol
from web.ws.filters import Filter

log = logging.getLogger(__name__)

LISTEN_WAIT = 3.0  # seconds start-up waits for the bus subscription (Redis)
GRACE = 1.0  # seconds a client may take to catch up with a burst before frames are dropped
BURST_FACTOR = 4  # an outbox never holds more than this many times its limit


class Outbox:
    """A bounded queue of frames for one client; the oldest go first when it is behind."""

    def __init__(
        self,
        limit: int,
        *,
        grace: float = GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._items: deque[tuple[int, float, str]] = deque()
        self._limit = limit
        self._ceiling = limit * BURST_FACTOR
        self._grace = grace
        self._clock = clock
        self._seq = 0
        self._unreported = 0
        self.dropped = 0
        self._ready = asyncio.Event()
        self._finished = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, text: str) -> None:
        """Queue a frame; when the client is behind, drop the oldest down to the limit."""
        if self._finished:
            return
        now = self._clock()
        self._seq += 1
        self._items.append((self._seq, now, text))
        if len(self._items) > self._limit and (
            len(self._items) > self._ceiling or now - self._items[0][1] > self._grace
        ):
            lost = len(self._items) - self._limit
            for _ in range(lost):
                self._items.popleft()
            self._unreported += lost
            self.dropped += lost
        self._ready.set()

    def mark(self) -> int:
        """A position: frames put from now on come after it."""
        return self._seq

    def insert_at(self, mark: int, text: str) -> None:
        """Queue a frame before every frame put after ``mark`` (the limit does not apply)."""
        index = next((i for i, item in enumerate(self._items) if item[0] > mark), len(self._items))
        self._items.insert(index, (mark, self._clock(), text))
        self._ready.set()

    def finish(self) -> None:
        """No more frames: :meth:`get` returns None once the queue is empty."""
        self._finished = True
        self._ready.set()

    async def get(self) -> str | None:
        """The next frame (a ``dropped`` notice first after a loss); None when finished."""
        while True:
            if self._unreported:
                count, self._unreported = self._unreported, 0
                return protocol.dropped(count)
            if self._items:
                return self._items.popleft()[2]
            if self._finished:
                return None
            self._ready.clear()
            await self._ready.wait()


class Client:
    """One connected, authenticated socket as the hub sees it."""

    def __init__(self, outbox: Outbox, subscription: Filter | None) -> None:
        self.outbox = outbox
        self.filter = subscription
        self.stop: asyncio.Future[tuple[int, str]] | None = None


class Hub:
    """Fan-out of the bus to this process's WebSocket clients, and connection counts."""

    def __init__(self, bus: EventBus, *, per_user: int, per_ip: int) -> None:
        self.bus = bus
        self.per_user = per_user
        self.per_ip = per_ip
        self._clients: set[Client] = set()
        self._users: Counter[str] = Counter()
        self._ips: Counter[str] = Counter()
        self._unsubscribe: Unsubscribe | None = None
        self._stopped = False

    # -- lifespan (Falcon calls these on the middleware list) -------------------------

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        # Once: after a shutdown the bus is closed (Falcon's TestClient runs the lifespan
        # around every simulated request; a server runs it once).
        if self._unsubscribe is not None or self._stopped:
            return
        self._unsubscribe = self.bus.subscribe(self.dispatch)
        install(self.bus)
        if not await asyncio.to_thread(self.bus.listening, LISTEN_WAIT):
            log.warning("the event bus is not listening yet; live updates start when it is")

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        self._stopped = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for client in list(self._clients):
            client_stop = client.stop
            if client_stop is not None and not client_stop.done():
                client_stop.set_result((protocol.Close.GOING_AWAY, "server shutting down"))
        uninstall(self.bus)
        await asyncio.to_thread(self.bus.close)

    # -- fan-out ------------------------------------------------------------------------

    def dispatch(self, event: Event) -> None:
        """Queue ``event`` for every client whose filter matches (runs on the loop)."""
        text: str | None = None
        for client in self._clients:
            subscription = client.filter
            if subscription is not None and subscription.matches(event):
                if text is None:
                    text = event.to_json()
                client.outbox.put(text)

    def add(self, client: Client) -> None:
        self._clients.add(client)

    def remove(self, client: Client) -> None:
        self._clients.discard(client)

    @property
    def clients(self) -> int:
        return len(self._clients)

    # -- limits -------------------------------------------------------------------------

    def reserve_ip(self, ip: str) -> bool:
        """Count a connection from ``ip``; False (not counted) when it is at its limit."""
        if self._ips[ip] >= self.per_ip:
            return False
        self._ips[ip] += 1
        return True

    def release_ip(self, ip: str) -> None:
        self._ips[ip] -= 1
        if self._ips[ip] <= 0:
            del self._ips[ip]

    def reserve_user(self, key: str) -> bool:
        """Count a connection of user ``key``; False (not counted) at its limit."""
        if self._users[key] >= self.per_user:
            return False
        self._users[key] += 1
        return True

    def release_user(self, key: str) -> None:
        self._users[key] -= 1
        if self._users[key] <= 0:
            del self._users[key]
