"""What keeps a bulk job from being stranded: time bounds, the sweep, giving up, resuming.

A job must always end ``completed`` or ``failed``, or be picked up again:

* a job is split into chunk messages of ``apply.CHUNK_SIZE`` apps, each applied in
  one transaction, so no delivery nears RabbitMQ's ``consumer_timeout`` (30 min by
  default); the actor's time limit is :data:`ATTEMPT_TIME_LIMIT`;
* the sweep (:func:`stale_jobs`) re-sends jobs left ``queued`` (their message never
  reached the broker) and jobs left ``running`` with no progress for longer than the
  time limit plus a margin (a retry the broker did not take, a last attempt that could
  not mark the job failed with the database down, a message lost in ``.XQ``);
* the last attempt marks the job ``failed`` (:func:`give_up`) whatever ended it, a
  time limit included; a dead job requeued by an admin is first put back to
  ``queued`` (:func:`resume`), so it carries on where it stopped.

The per-app result row (unique per job and app, written in its chunk's transaction)
keeps every path here from commanding an app twice, whichever worker takes a chunk.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from peewee import PeeweeException, fn

from control.bulk import apply, services
from control.bulk.models import BulkJob, BulkStatus
from control.clock import utcnow
from control.db.database import connected, write_transaction
from control.errors import NotFound
from control.tasks.actors import APPLY_BULK_JOB
from control.tasks.interface import TaskQueue

log = logging.getLogger(__name__)

ATTEMPT_TIME_LIMIT = dt.timedelta(minutes=5)  # the actor's time_limit
STALL_MARGIN = dt.timedelta(minutes=2)  # retries' backoff and a busy worker's queue
STALLED_AFTER = ATTEMPT_TIME_LIMIT + STALL_MARGIN

# Errors that end the process, not the attempt: the message goes back to the broker.
PROCESS_EXITS = (KeyboardInterrupt, SystemExit, GeneratorExit)


def stale_jobs(
    queued_after: dt.timedelta, stalled_after: dt.timedelta = STALLED_AFTER, limit: int = 100
) -> list[str]:
    """Ids of jobs to send again: ``queued`` since ``queued_after`` ago (created or last
    re-sent), or ``running`` without progress since ``stalled_after`` ago and not re-sent
    since. Marks them re-sent now, so the next sweep leaves them alone meanwhile."""
    now = utcnow()
    queued_cutoff, stalled_cutoff = now - queued_after, now - stalled_after
    last_progress = fn.COALESCE(BulkJob.progressed_at, BulkJob.started, BulkJob.created)
    queued = (BulkJob.status == BulkStatus.QUEUED) & (
        fn.COALESCE(BulkJob.requeued_at, BulkJob.created) < queued_cutoff
    )
    stalled = (
        (BulkJob.status == BulkStatus.RUNNING)
        & (last_progress < stalled_cutoff)
        & (BulkJob.requeued_at.is_null() | (BulkJob.requeued_at < stalled_cutoff))
    )
    with connected(), write_transaction():
        ids = [
            row.id
            for row in BulkJob.select(BulkJob.id)
            .where(queued | stalled)
            .order_by(BulkJob.created)
            .limit(limit)
        ]
        if ids:
            BulkJob.update(requeued_at=now).where(BulkJob.id.in_(ids)).execute()
    return ids


def fail_job(job_id: str, error: str) -> None:
    """Mark a job failed (the worker gave up on it); its recorded results stay."""
    with connected():
        values = apply.recount(job_id) | {
            BulkJob.status: BulkStatus.FAILED,
            BulkJob.error: error[:2000],
            BulkJob.finished: utcnow(),
        }
        BulkJob.update(values).where(
            BulkJob.id == job_id, BulkJob.status.in_([BulkStatus.QUEUED, BulkStatus.RUNNING])
        ).execute()


def give_up(job_id: str, exc: BaseException) -> bool:
    """On the last attempt: mark the job failed (it can be requeued from the dead jobs).

    Whether it was marked. Not for an exception that ends the process (the broker
    redelivers the message), nor when the database is down too: the job then stays
    ``running`` and the sweep sends it again once it shows no progress.
    """
    if isinstance(exc, PROCESS_EXITS):
        return False
    text = str(exc)
    try:
        fail_job(job_id, f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
    except PeeweeException:  # the database is down too
        log.warning("bulk job %s not marked failed; the sweep will re-send it", job_id)
        return False
    return True


def resume(job_id: str) -> dict[str, Any]:
    """Put a failed job back to ``queued`` before its message is sent again (a dead job
    requeued); its handled apps stay handled. NotFound when the job is gone."""
    with connected(), write_transaction():
        job = BulkJob.get_or_none(BulkJob.id == job_id)
        if job is None:
            raise NotFound(f"No bulk job with id {job_id!r}.")
        if job.status == BulkStatus.FAILED:
            BulkJob.update(
                status=BulkStatus.QUEUED, error=None, finished=None, requeued_at=utcnow()
            ).where(BulkJob.id == job_id).execute()
    return services.get_job(job_id)


def apply_slice(
    job_id: str,
    tasks: TaskQueue,
    *,
    final_attempt: bool,
    chunk: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """What the actor does with one message.

    A message naming a ``chunk`` (``start``, ``stop`` in the job's app ids) applies it
    in one transaction (``apply.apply_chunk``). A message naming only the job (the
    API's, the sweep's), or any message of a job back to ``queued`` (a dead one
    requeued), takes the job up: the chunks still to apply, one alone applied here,
    more each sent as a chunk message through ``tasks`` so every worker shares them. On
    the ``final_attempt``, whatever ended it (a time limit is a ``BaseException``), mark
    the job failed (:func:`give_up`)."""
    try:
        if chunk is not None and services.status(job_id) is not BulkStatus.QUEUED:
            return apply.apply_chunk(job_id, *chunk)
        job, pending = apply.take_up(job_id)
        if len(pending) == 1:
            return apply.apply_chunk(job_id, *pending[0])
        gap = _spacing(job_id) if pending else 0.0
        for n, (start, stop) in enumerate(pending):
            # a send refused midway: this message's retry (or the sweep) sends them again
            if gap:  # a paced job: the n-th chunk starts no sooner than n gaps from now
                delay = round(n * gap * 1000)  # milliseconds
                tasks.send(APPLY_BULK_JOB, job_id, start, stop, options={"delay": delay})
            else:
                tasks.send(APPLY_BULK_JOB, job_id, start, stop)
        return job
    except BaseException as exc:
        if final_attempt:
            give_up(job_id, exc)
        raise


def _spacing(job_id: str) -> float:
    with connected():
        return apply.spacing(services._job(job_id))


def requeue_stale(
    tasks: TaskQueue, queued_after: dt.timedelta, stalled_after: dt.timedelta = STALLED_AFTER
) -> int:
    """The sweep: send again through ``tasks`` the jobs :func:`stale_jobs` finds; how
    many it tried. A refused send ends the sweep (the broker is down): the next sweep
    tries the rest."""
    ids = stale_jobs(queued_after, stalled_after)
    for job_id in ids:
        try:
            tasks.send(APPLY_BULK_JOB, job_id)
        except Exception:
            log.warning("bulk job %s stays queued: the broker refused it", job_id, exc_info=True)
            break
    if ids:
        log.info("re-sent %d bulk job(s) left queued or stalled", len(ids))
    return len(ids)
