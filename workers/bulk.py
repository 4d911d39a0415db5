"""Bulk jobs: one message per job, carrying only its id.

The job row is committed (``queued``) before ``apply_bulk_job.send(id)``. The actor
handles each app in the transaction that records its result, so a worker killed
mid-job leaves every app either handled once or not at all, and the redelivered
message (RabbitMQ requeues an unacknowledged one; Redis after its visibility timeout)
finishes the rest.
"""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage

from control.bulk import services
from control.errors import NotFound
from workers.broker import broker

QUEUE = "bulk"
MAX_RETRIES = 3


def _final_attempt() -> bool:
    message = CurrentMessage.get_current_message()
    if message is None:  # called directly, not by a worker
        return True
    return message.options.get("retries", 0) >= MAX_RETRIES


def apply(job_id: str) -> None:
    """Apply the job; on the last failed attempt mark it failed before giving up."""
    try:
        services.apply_job(job_id)
    except Exception as exc:
        if _final_attempt():
            services.fail_job(job_id, f"{type(exc).__name__}: {exc}")
        raise


apply_bulk_job = dramatiq.actor(
    apply,
    actor_name="apply_bulk_job",
    broker=broker,
    queue_name=QUEUE,
    max_retries=MAX_RETRIES,  # per-app errors are recorded, not raised: these are DB outages
    min_backoff=1_000,
    max_backoff=60_000,
    time_limit=30 * 60_000,  # 5000 apps at a few ms each, with room; a stuck job dies
    throws=(NotFound,),  # the job row is gone: retrying won't bring it back
)


def enqueue_job(job_id: str) -> None:
    """Ask a worker to apply a committed job (raises if the broker is down)."""
    apply_bulk_job.send(job_id)
