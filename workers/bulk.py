"""Bulk jobs: a message carrying the job's id, then one message per chunk of its apps.

The job row is committed (``queued``) before the message is sent, so a message that
never reached the broker loses nothing: ``requeue_stale_bulk_jobs`` (fired by the
scheduler) sends again the jobs left queued. ``apply_bulk_job(job_id)`` splits the job
into chunks (``control.bulk.apply.CHUNK_SIZE`` apps) and sends
``apply_bulk_job(job_id, start, stop)`` for each, so every worker process shares the
job. A chunk is applied in the one transaction that records its apps' results, so a
worker killed mid-job leaves every app either handled once or not at all, and the
redelivered message (RabbitMQ requeues an unacknowledged one; Redis after its
visibility timeout) finishes the rest. That policy, the sweep and giving up on the last
attempt are in ``control.bulk.recovery``; the actors only call it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from control.bulk import recovery
from control.errors import NotFound
from control.settings import get_settings
from control.tasks.actors import APPLY_BULK_JOB, REQUEUE_STALE_BULK_JOBS
from control.tasks.interface import TaskQueue

QUEUE = APPLY_BULK_JOB.queue
MAX_RETRIES = 3

APPLY_OPTIONS: dict[str, Any] = {
    "queue_name": QUEUE,
    "max_retries": MAX_RETRIES,  # per-app errors are recorded, not raised: DB outages
    "min_backoff": 1_000,
    "max_backoff": 60_000,
    # well under RabbitMQ's consumer_timeout: each message applies one chunk of the job
    # (CHUNK_SIZE apps, a fraction of a second set-based; seconds app by app)
    "time_limit": int(recovery.ATTEMPT_TIME_LIMIT.total_seconds() * 1000),
    "throws": (NotFound,),  # the job row is gone: retrying won't bring it back
}


def _final_attempt() -> bool:
    message = CurrentMessage.get_current_message()
    if message is None:  # called directly, not by a worker
        return True
    return bool(message.options.get("retries", 0) >= MAX_RETRIES)


def apply(job_id: str, tasks: TaskQueue, start: int | None = None, stop: int | None = None) -> None:
    """One message's work on a job, the whole job or its chunk ``app_ids[start:stop]``
    (``control.bulk.recovery.apply_slice``)."""
    chunk = (start, stop) if start is not None and stop is not None else None
    recovery.apply_slice(job_id, tasks, final_attempt=_final_attempt(), chunk=chunk)


def requeue_stale_jobs(
    tasks: TaskQueue,
    minutes: int | None = None,
    stalled_after: dt.timedelta = recovery.STALLED_AFTER,
) -> int:
    """The sweep (``control.bulk.recovery.requeue_stale``): jobs still queued after
    ``minutes`` (``DC_BULK_REQUEUE_AFTER_MINUTES``), running ones stalled; how many."""
    minutes = minutes or get_settings().bulk_requeue_after_minutes
    return recovery.requeue_stale(tasks, dt.timedelta(minutes=minutes), stalled_after)


def declare(broker: dramatiq.Broker, tasks: TaskQueue) -> None:
    """Declare the bulk actors on ``broker``; what they send on goes through ``tasks``."""

    def apply_bulk_job(job_id: str, start: int | None = None, stop: int | None = None) -> None:
        apply(job_id, tasks, start, stop)

    def requeue_stale_bulk_jobs() -> None:
        """The scheduler's sweep (no retries: the next sweep is the retry)."""
        requeue_stale_jobs(tasks)

    dramatiq.actor(actor_name=APPLY_BULK_JOB.name, broker=broker, **APPLY_OPTIONS)(apply_bulk_job)
    dramatiq.actor(
        actor_name=REQUEUE_STALE_BULK_JOBS.name,
        broker=broker,
        queue_name=QUEUE,
        max_retries=0,
        time_limit=60_000,
    )(requeue_stale_bulk_jobs)
