"""Task queues and actors onto a test's own broker and queue (nothing else consumes it)."""

from __future__ import annotations

from typing import Any

import dramatiq

from control.tasks.dramatiq import DramatiqTaskQueue
from control.tasks.interface import ActorRef
from workers import bulk as bulk_worker


class OnTestQueue:
    """A task queue that sends every actor to ``queue`` on ``broker``."""

    def __init__(self, broker: dramatiq.Broker, queue: str) -> None:
        self._tasks = DramatiqTaskQueue(broker)
        self._queue = queue

    def send(self, actor: ActorRef, *args: Any, **options: Any) -> None:
        self._tasks.send(ActorRef(actor.name, self._queue), *args, **options)


def declare_bulk_actor(broker: dramatiq.Broker, queue: str, **options: Any) -> dramatiq.Actor:
    """``apply_bulk_job`` on ``queue``; what it sends on goes to ``queue`` too."""
    tasks = OnTestQueue(broker, queue)

    def apply_bulk_job(job_id: str, start: int | None = None, stop: int | None = None) -> None:
        bulk_worker.apply(job_id, tasks, start, stop)

    return dramatiq.actor(
        apply_bulk_job, actor_name="apply_bulk_job", broker=broker, queue_name=queue, **options
    )
