"""In-process command transport for the embedded default: a topic exchange in memory.

Subscribers bind a pattern (``*`` one word, ``#`` zero or more, as in RabbitMQ) and
receive matching messages on one dispatcher thread, so a subscriber never runs inside
the relay's database transaction. As in an exchange, a message is routed when it is
published: it goes to the subscribers bound at that moment, and nobody bound means
dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from control.commands.messages import CONTENT_TYPE, EXCHANGE
from control.commands.transport import Confirmed, Outgoing
from control.errors import Unavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One delivered message with the properties a RabbitMQ consumer would see."""

    routing_key: str
    body: bytes
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = CONTENT_TYPE
    delivery_mode: int = 2
    exchange: str = EXCHANGE


Subscriber = Callable[[Message], None]


def topic_matches(pattern: str, key: str) -> bool:
    """Whether a topic binding ``pattern`` matches ``key`` (AMQP topic rules)."""
    words, parts = pattern.split("."), key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(words):
            return j == len(parts)
        if words[i] == "#":
            return any(match(i + 1, k) for k in range(j, len(parts) + 1))
        if j == len(parts):
            return False
        return words[i] in ("*", parts[j]) and match(i + 1, j + 1)

    return match(0, 0)


class MemoryTransport:
    """Publishing hands the message to a dispatcher thread; that is the 'confirm'."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[str, Subscriber]] = []
        self._queue: queue.Queue[tuple[Message, list[Subscriber]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._closed = False

    def subscribe(self, pattern: str, callback: Subscriber) -> Callable[[], None]:
        """Deliver messages matching ``pattern`` to ``callback``; returns the unsubscriber."""
        entry = (pattern, callback)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def publish(
        self,
        routing_key: str,
        body: bytes,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        with self._lock:
            if self._closed:
                raise Unavailable("The in-process command transport is closed.")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._dispatch, name="dc-command-dispatch", daemon=True
                )
                self._thread.start()
            targets = [
                cb for pattern, cb in self._subscribers if topic_matches(pattern, routing_key)
            ]
            if targets:
                message = Message(routing_key, bytes(body), message_id, dict(headers or {}))
                self._queue.put((message, targets))

    def publish_many(self, messages: Sequence[Outgoing]) -> Confirmed:
        for count, m in enumerate(messages):
            try:
                self.publish(m.routing_key, m.body, m.message_id, m.headers)
            except Unavailable as exc:
                return Confirmed(count, exc)
        return Confirmed(len(messages))

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every published message has been handed to its subscribers."""
        done = threading.Event()
        with self._lock:
            if self._thread is None or self._closed:
                return True

        def wait() -> None:
            self._queue.join()
            done.set()

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        return done.wait(timeout)

    def _dispatch(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                message, targets = item
                for callback in targets:
                    try:
                        callback(message)
                    except Exception:
                        log.exception("command subscriber failed on %s", message.message_id)
            finally:
                self._queue.task_done()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    @property
    def closed(self) -> bool:
        return self._closed


_shared: MemoryTransport | None = None
_shared_lock = threading.Lock()


def shared() -> MemoryTransport:
    """The process-wide in-process transport: the relay publishes and agents subscribe here."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.closed:
            _shared = MemoryTransport()
        return _shared
