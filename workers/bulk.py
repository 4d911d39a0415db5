"""Bulk jobs: one message per job, carrying only its id.

The job row is committed (``queued``) before ``apply_bulk_job.send(id)``, so a message
that never reached the broker loses nothing: ``requeue_stale_bulk_jobs`` (fired by the
scheduler) sends again the jobs left queued. The actor
handles each app in the transaction that records its result, so a worker killed
mid-job leaves every app either handled once or not at all, and the redelivered
message (RabbitMQ requeues an unacknowledged one; Redis after its visibility timeout)
finishes the rest.
"""

from __future__ import annotations

import datetime as dt
import logging

import dramatiq
from dramatiq.middleware import CurrentMessage

from control.bulk import services
from control.errors import NotFound
from control.scheduler.jobs import BULK_QUEUE
from control.settings import get_settings
from workers.broker import broker

log = logging.getLogger(__name__)

QUEUE = BULK_QUEUE
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
    # ~3.6 ms an app (bench/bulk_start.py): ~500k apps an attempt; a job cut off here
    # resumes where it stopped on the retry, and a stuck one dies
    time_limit=30 * 60_000,
    throws=(NotFound,),  # the job row is gone: retrying won't bring it back
)


def enqueue_job(job_id: str) -> None:
    """Ask a worker to apply a committed job (raises if the broker is down)."""
    apply_bulk_job.send(job_id)


def requeue_stale_jobs(minutes: int | None = None) -> int:
    """Send again the jobs still queued after ``minutes``
    (``DC_BULK_REQUEUE_AFTER_MINUTES``); how many it tried."""
    minutes = minutes or get_settings().bulk_requeue_after_minutes
    ids = services.stale_queued(dt.timedelta(minutes=minutes))
    for job_id in ids:
        try:
            enqueue_job(job_id)
        except Exception:
            log.warning("bulk job %s stays queued: the broker refused it", job_id, exc_info=True)
            break  # the broker is down: the next sweep tries the rest
    if ids:
        log.info("re-sent %d bulk job(s) left queued", len(ids))
    return len(ids)


@dramatiq.actor(broker=broker, queue_name=QUEUE, max_retries=0, time_limit=60_000)
def requeue_stale_bulk_jobs() -> None:
    """The scheduler's sweep (no retries: the next sweep is the retry)."""
    requeue_stale_jobs()
