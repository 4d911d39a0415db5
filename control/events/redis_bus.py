"""The Redis event bus: pub/sub on one channel, shared by every process.

Publishing puts the event's JSON on a bounded in-memory queue and returns; one
background thread sends the queue to Redis in pipelined batches. When Redis is slow
the queue absorbs it; when the queue is full the event is dropped; when Redis is down
the batch is lost and the thread leaves Redis alone for a moment (events published
meanwhile are counted as failed without waiting for a timeout). A request that
publishes never waits for Redis and never sees its errors; the losses are counted in
:meth:`RedisBus.stats` and logged at most once a minute.

Subscribing starts one listener thread per bus (so one Redis connection per process,
however many WebSocket clients it serves). It reconnects with a growing backoff
(0.5 s to 10 s) and delivers to the subscribers as :class:`~control.events.memory.
MemoryBus` does. Events published while a listener is disconnected are not replayed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

import redis

from control.events.interface import BusStats, Callback, Counters, Unsubscribe
from control.events.outage import ThrottledWarning
from control.events.subscribers import Subscribers
from control.events.types import Event, InvalidEvent

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "dc:events"
QUEUE_SIZE = 10_000  # events waiting for the publisher thread
BATCH = 256  # events per pipelined round trip
DOWN_PAUSE = 1.0  # seconds the publisher leaves Redis alone after a failure
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 10.0  # listener reconnection delays
POLL = 0.5  # seconds; how soon the threads notice close()


class RedisBus:
    """Events through Redis pub/sub on ``channel``."""

    def __init__(
        self,
        url: str,
        *,
        channel: str = DEFAULT_CHANNEL,
        queue_size: int = QUEUE_SIZE,
        timeout: float = 1.0,
    ) -> None:
        self._url = url
        self._channel = channel
        self._timeout = timeout
        self._counters = Counters()
        self._subscribers = Subscribers(self._counters)
        self._queue: queue.Queue[str] = queue.Queue(maxsize=queue_size)
        self._closing = threading.Event()
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self._publisher: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._publish_warning = ThrottledWarning(log)
        self._listen_warning = ThrottledWarning(log)

    # -- publishing ---------------------------------------------------------------------

    def publish(self, event: Event) -> bool:
        return self.publish_many((event,)) == 1

    def publish_many(self, events: Sequence[Event]) -> int:
        """Queue each event's JSON in order for the publisher thread; how many were queued."""
        if self._closing.is_set():
            self._counters.add("dropped", len(events))
            return 0
        payloads = []
        for event in events:
            try:
                payloads.append(event.to_json())
            except TypeError as exc:
                self._counters.add("failed")
                self._publish_warning.warn("event %s not published: %s", event.type.value, exc)
        if not payloads:
            return 0
        self._start("_publisher", self._publish_loop, "events-publisher")
        put, queued = self._queue.put_nowait, 0
        for payload in payloads:
            try:
                put(payload)
            except queue.Full:
                self._counters.add("dropped")
                self._publish_warning.warn(
                    "event queue full (%d): Redis is too slow, events dropped",
                    self._queue.maxsize,
                )
            else:
                queued += 1
        return queued

    def _publish_loop(self) -> None:
        client = redis.Redis.from_url(
            self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
        )
        down_until = 0.0
        try:
            while True:
                try:
                    batch = [self._queue.get(timeout=POLL)]
                except queue.Empty:
                    if self._closing.is_set():
                        return
                    continue
                while len(batch) < BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if time.monotonic() < down_until:
                    self._counters.add("failed", len(batch))
                    continue
                try:
                    pipe = client.pipeline(transaction=False)
                    for payload in batch:
                        pipe.publish(self._channel, payload)
                    pipe.execute()
                except (redis.RedisError, OSError) as exc:
                    down_until = time.monotonic() + DOWN_PAUSE
                    self._counters.add("failed", len(batch))
                    self._publish_warning.warn(
                        "events not published, Redis is unavailable (%s: %s)",
                        type(exc).__name__,
                        exc,
                    )
                else:
                    self._counters.add("published", len(batch))
        finally:
            client.close()

    # -- subscribing --------------------------------------------------------------------

    def subscribe(self, callback: Callback) -> Unsubscribe:
        remove = self._subscribers.add(callback)
        self._start("_listener", self._listen_loop, "events-listener")
        return remove

    def listening(self, timeout: float) -> bool:
        return self._subscribed.wait(timeout)

    def _listen_loop(self) -> None:
        backoff = BACKOFF_FIRST
        while not self._closing.is_set():
            client = redis.Redis.from_url(
                self._url,
                socket_timeout=5.0,
                socket_connect_timeout=2.0,
                socket_keepalive=True,
                health_check_interval=10,
            )
            pubsub = client.pubsub()  # type: ignore[no-untyped-call]  # unannotated in redis-py
            try:
                pubsub.subscribe(self._channel)
                while not self._closing.is_set():
                    message = pubsub.get_message(timeout=POLL)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self._subscribed.set()
                        backoff = BACKOFF_FIRST
                    elif message["type"] == "message":
                        self._deliver(message["data"])
            except (redis.RedisError, OSError) as exc:
                self._subscribed.clear()
                self._listen_warning.warn(
                    "event listener lost Redis (%s: %s); reconnecting in %.1f s",
                    type(exc).__name__,
                    exc,
                    backoff,
                )
                self._closing.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                self._subscribed.clear()
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
                    client.close()

    def _deliver(self, payload: bytes) -> None:
        try:
            event = Event.from_json(payload)
        except InvalidEvent as exc:
            self._listen_warning.warn("ignored a message on %s: %s", self._channel, exc)
            return
        self._subscribers.deliver(event)

    # -- lifecycle ----------------------------------------------------------------------

    def _start(self, attribute: str, target: Callable[[], None], name: str) -> None:
        if getattr(self, attribute) is not None:
            return
        with self._lock:
            if getattr(self, attribute) is None and not self._closing.is_set():
                thread = threading.Thread(target=target, name=name, daemon=True)
                setattr(self, attribute, thread)
                thread.start()

    def stats(self) -> BusStats:
        return self._counters.snapshot()

    def close(self, timeout: float = 2.0) -> None:
        """Stop both threads; queued events get up to ``timeout`` s to be sent."""
        self._closing.set()
        self._subscribers.clear()
        for thread in (self._publisher, self._listener):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
