"""The contract every command transport meets: publish with confirmation, or raise.

Two implementations: ``RabbitMQTransport`` (a durable topic exchange, publisher
confirms) and ``MemoryTransport`` (in-process delivery for the embedded default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from control.errors import Unavailable


@dataclass(frozen=True)
class Outgoing:
    """One message for ``publish_many``."""

    routing_key: str
    body: bytes
    message_id: str
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Confirmed:
    """What ``publish_many`` achieved: the first ``count`` messages are confirmed;
    ``error`` says why the next one is not (None when all are). Messages after it may
    have reached the broker too; the caller publishes them again (consumers dedupe on
    ``message_id``)."""

    count: int
    error: Unavailable | None = None


class CommandTransport(Protocol):
    """Publishes a message, or a batch in order; returns only once they are safe.

    ``publish`` raises ``control.errors.Unavailable`` when it cannot confirm delivery
    (broker down, connection cut, message refused); the caller keeps the message and
    retries later. ``close`` releases the connection; a closed transport refuses to
    publish.
    """

    def publish(
        self,
        routing_key: str,
        body: bytes,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish ``body`` under ``routing_key``; return once it is confirmed."""
        ...

    def publish_many(self, messages: Sequence[Outgoing]) -> Confirmed:
        """Publish ``messages`` in order; return once each is confirmed or one is not
        (RabbitMQ: the batch goes out at once and its confirms are awaited together)."""
        ...

    def close(self) -> None:
        """Release the connection and stop any background delivery."""
        ...
