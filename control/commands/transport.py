"""The contract every command transport meets: publish with confirmation, or raise.

Two implementations: ``RabbitMQTransport`` (a durable topic exchange, publisher
confirms) and ``MemoryTransport`` (in-process delivery for the embedded default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class CommandTransport(Protocol):
    """Publishes one message at a time; returns only once the message is safe.

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

    def close(self) -> None:
        """Release the connection and stop any background delivery."""
        ...
