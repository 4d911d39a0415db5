"""Cancelling a bulk job.

``cancel_job`` locks the job row, records every app without a result as skipped
"cancelled" and marks the job cancelled, in one transaction. A chunk under way holds a
shared lock on that row, so the cancel waits for it; a chunk after the cancel's commit
sees the job cancelled and commands nothing (see :mod:`control.bulk.apply`).
"""

from __future__ import annotations

from typing import Any, cast

from peewee import chunked

from control.audit import services as audit
from control.audit.context import AuditContext
from control.bulk.apply import progress_event, recount
from control.bulk.models import (
    CANCELLED_REASON,
    FINISHED,
    BulkJob,
    BulkJobItem,
    BulkOutcome,
    BulkStatus,
)
from control.bulk.services import _job, view
from control.clock import utcnow
from control.commands import services as commands
from control.db.database import connected, locking, write_transaction
from control.errors import Conflict, NotFound


def cancel_job(job_id: str, context: AuditContext) -> dict[str, Any]:
    """Cancel a queued or running job: in one transaction holding the job row's lock,
    its apps without a result are recorded as skipped "cancelled", the job is marked
    cancelled (counts from its result rows) and the audit row written. What was applied
    stays. The job as it stands; NotFound for an unknown job, Conflict for a finished
    one. Once this commits, no chunk commands an app of the job (see :mod:`control.bulk.apply`)."""
    with connected():
        with write_transaction():
            job = locking(BulkJob.select().where(BulkJob.id == job_id)).first()
            if job is None:
                raise NotFound(f"No bulk job with id {job_id!r}.")
            if job.status in FINISHED:
                raise Conflict(f"The bulk job is already {BulkStatus(job.status).value}.")
            handled = {
                row.app_id
                for row in BulkJobItem.select(BulkJobItem.app_id).where(BulkJobItem.job == job_id)
            }
            now = utcnow()
            rows = [
                {
                    "job": job_id,
                    "app_id": app_id,
                    "outcome": BulkOutcome.SKIPPED,
                    "reason": CANCELLED_REASON,
                    "command_id": None,
                    "created": now,
                }
                for app_id in dict.fromkeys(cast("list[str]", job.app_ids))
                if app_id not in handled
            ]
            for batch in chunked(rows, commands.INSERT_BATCH):
                BulkJobItem.insert_many(batch).execute()
            values = recount(job_id) | {
                BulkJob.status: BulkStatus.CANCELLED,
                BulkJob.finished: now,
                BulkJob.progressed_at: now,
                BulkJob.cancelled_by: context.actor.subject[:254],
            }
            BulkJob.update(values).where(BulkJob.id == job_id).execute()
            audit.write(
                context,
                "bulk.jobs.cancel",  # the name the audit middleware gives a refusal
                details={
                    "bulk_job_id": job_id,
                    "was": BulkStatus(job.status).value,
                    "cancelled_apps": len(rows),
                },
            )
        job = _job(job_id)
        progress_event(job)
        return view(job)
