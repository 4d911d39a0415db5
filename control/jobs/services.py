"""Recording, listing and marking dead jobs (sending one again: ``control.jobs.requeue``)."""

from __future__ import annotations

from typing import Any

from control.audit.services import redact
from control.clock import utcnow
from control.db.database import connected, write_transaction
from control.errors import Conflict, NotFound
from control.jobs.models import DeadJob
from control.querying import Page, paginate

MAX_ERROR = 2000


def record(
    *,
    queue: str,
    actor: str,
    message_id: str,
    args: list[Any],
    kwargs: dict[str, Any],
    encoded: str,
    error: str | None,
) -> DeadJob:
    """Write the dead job for a message that failed for good (own connection)."""
    if error and len(error) > MAX_ERROR:
        error = error[: MAX_ERROR - 1] + "…"
    with connected():
        return DeadJob.create(
            queue=queue[:128],
            actor=actor[:128],
            message_id=message_id[:64],
            args=redact({"args": list(args), "kwargs": dict(kwargs)}),
            message=encoded,
            error=error,
        )


def item(job: DeadJob) -> dict[str, Any]:
    """The API's view of a dead job (never the encoded message)."""
    return {
        "id": job.id,
        "queue": job.queue,
        "actor": job.actor,
        "message_id": job.message_id,
        "args": job.args,
        "error": job.error,
        "failed_at": job.failed_at,
        "requeued_at": job.requeued_at,
    }


def list_dead(page: int, per_page: int, requeued: bool | None = None) -> Page:
    """Dead jobs, newest first; ``requeued`` filters on whether they were sent again."""
    query = DeadJob.select()
    if requeued is not None:
        query = query.where(
            DeadJob.requeued_at.is_null(False) if requeued else DeadJob.requeued_at.is_null()
        )
    page_ = paginate(query.order_by(DeadJob.id.desc()), page, per_page)
    return Page([item(j) for j in page_.rows], page_.page, page_.per_page, page_.total)


def get(job_id: int) -> DeadJob:
    """The dead job, or NotFound."""
    job = DeadJob.get_or_none(DeadJob.id == job_id)
    if job is None:
        raise NotFound(f"No dead job {job_id}.")
    return job


def claim_requeue(job_id: int) -> DeadJob:
    """Stamp the job as re-queued, once: Conflict when it already was, NotFound if gone."""
    with write_transaction():
        claimed = (
            DeadJob.update(requeued_at=utcnow())
            .where(DeadJob.id == job_id, DeadJob.requeued_at.is_null())
            .execute()
        )
        job = get(job_id)
    if not claimed:
        raise Conflict(f"Dead job {job_id} was already re-queued.")
    return job


def release_requeue(job_id: int) -> None:
    """Undo :func:`claim_requeue` when the broker refused the message."""
    DeadJob.update(requeued_at=None).where(DeadJob.id == job_id).execute()
