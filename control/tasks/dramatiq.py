"""The Dramatiq task queue: a ``dramatiq.Message`` by actor name, through ``broker``.

The sender declares no actor (the workers do, ``workers/broker.py``); the worker that
takes the message applies the actor's own retries and limits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import dramatiq

from control.tasks.interface import ActorRef


class DramatiqTaskQueue:
    """Sends through ``broker`` (RabbitMQ, Redis, or the in-process ``StubBroker``)."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def send(
        self,
        actor: ActorRef,
        *args: Any,
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        message_id: str | None = None,
    ) -> None:
        if actor.queue not in self.broker.get_declared_queues():
            self.broker.declare_queue(actor.queue)
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=actor.queue,
            actor_name=actor.name,
            args=tuple(args),
            kwargs=dict(kwargs or {}),
            options={k: v for k, v in (options or {}).items() if k != "delay"},
        )
        if message_id is not None:  # the timestamp stays the send's own
            message = dataclasses.replace(message, message_id=message_id)
        delay = (options or {}).get("delay")  # milliseconds: through the delay queue
        self.broker.enqueue(message, delay=delay)
