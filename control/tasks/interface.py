"""The task-queue interface: send an actor, by name, with arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ActorRef:
    """An actor as a sender knows it: its name and the queue it listens on."""

    name: str
    queue: str


class TaskQueue(Protocol):
    """Where work for the workers goes. ``send`` returns once the queue has the message
    and raises when it refuses it (a broker outage): callers keep the work in the
    database first, so a refused send loses nothing."""

    def send(
        self,
        actor: ActorRef,
        *args: Any,
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        message_id: str | None = None,
    ) -> None:
        """Send ``actor(*args, **kwargs)``; ``options`` travel with the message (the
        worker applies the actor's own retries and limits), ``message_id`` keeps an
        earlier message's id (a requeued dead job)."""
        ...
