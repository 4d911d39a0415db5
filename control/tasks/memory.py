"""The in-process task queue: sends kept in order, run by name when asked."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from control.tasks.interface import ActorRef

Handler = Callable[..., Any]


@dataclass(frozen=True)
class SentTask:
    """One message: what was sent, as a worker would receive it."""

    actor: ActorRef
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: dict[str, Any]
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class InProcessTaskQueue:
    """Keeps what is sent (``sent``, every message; ``pending``, those not run yet) and
    runs the pending ones through ``handlers`` (by actor name) when :meth:`run_pending`
    is called, on the caller's thread (``current``: the message being run, as Dramatiq's
    ``CurrentMessage``). ``refuse`` set makes ``send`` raise it (an outage)."""

    def __init__(self, handlers: Mapping[str, Handler] | None = None) -> None:
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.sent: list[SentTask] = []
        self.pending: list[SentTask] = []
        self.refuse: Exception | None = None
        self.current: SentTask | None = None
        self._lock = threading.Lock()

    def send(
        self,
        actor: ActorRef,
        *args: Any,
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        message_id: str | None = None,
    ) -> None:
        if self.refuse is not None:
            raise self.refuse
        task = SentTask(actor, tuple(args), dict(kwargs or {}), dict(options or {}))
        if message_id is not None:
            task = SentTask(task.actor, task.args, task.kwargs, task.options, message_id)
        with self._lock:
            self.sent.append(task)
            self.pending.append(task)

    def args_sent(self, actor: ActorRef) -> list[Any]:
        """The first argument of each message sent to ``actor`` (an id, usually)."""
        return [task.args[0] for task in self.sent if task.actor == actor]

    def run_pending(self) -> int:
        """Run the pending messages (and those they send) in order; how many ran. A
        message for an actor with no handler stays pending."""
        ran = 0
        while True:
            with self._lock:
                ready = [t for t in self.pending if t.actor.name in self.handlers]
                if not ready:
                    return ran
                task = ready[0]
                self.pending.remove(task)
            self.current = task
            try:
                self.handlers[task.actor.name](*task.args, **task.kwargs)
            finally:
                self.current = None
            ran += 1
