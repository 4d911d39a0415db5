"""Applying a bulk job, chunk by chunk.

The job is applied in chunks of :data:`CHUNK_SIZE` apps (``take_up`` lists them,
``apply_chunk`` applies one): each chunk in one transaction that locks its apps, checks
them by the dry run's rule, issues the commands with set-based statements
(``issue_many``: flags, commands, outbox and audit rows), inserts the result rows and
counts them on the job, completing it after its last chunk. A result row is unique per
(job, app), so a chunk redelivered after a worker died skips the apps already handled
and never commands one twice.

Each chunk's transaction first takes a shared lock on the job row (``FOR KEY SHARE`` on
PostgreSQL, which chunks hold together; SQLite serialises writers) and reads its status
there, so a cancel (:mod:`control.bulk.cancel`) waits for the chunks under way, and a
chunk after the cancel's commit sees it and commands nothing.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from peewee import IntegrityError, chunked, fn

from control.apps.models import Apps
from control.audit import services as audit
from control.audit.context import Actor, AuditContext
from control.bulk.eligibility import verdict
from control.bulk.models import (
    FINISHED,
    BulkJob,
    BulkJobItem,
    BulkOutcome,
    BulkStatus,
)
from control.bulk.services import _job, view
from control.clock import utcnow
from control.commands import services as commands
from control.db.database import (
    connected,
    dialect,
    give_writers_a_turn,
    locking,
    write_transaction,
)
from control.enums import CommandFlag
from control.errors import Conflict, ControlError, NotFound
from control.events import EventType, publish
from control.querying import tuples

log = logging.getLogger(__name__)

CHUNK_SIZE = 500  # apps per chunk: one message, one transaction


def _still_open(job_id: str) -> bool:
    """In the caller's transaction: lock the job row against a cancel (shared among
    chunks) and tell whether the job is still to be applied (not cancelled, completed
    or failed meanwhile)."""
    query: Any = BulkJob.select(BulkJob.status).where(BulkJob.id == job_id)
    if dialect() == "postgresql":
        query = query.for_update("FOR KEY SHARE")
    row = query.first()
    return row is not None and row.status not in FINISHED


def _count(job_id: str, outcome: BulkOutcome) -> None:
    column = {
        BulkOutcome.APPLIED: BulkJob.applied,
        BulkOutcome.SKIPPED: BulkJob.skipped,
        BulkOutcome.FAILED: BulkJob.failed,
    }[outcome]
    # progressed_at: the stale-job sweep tells a stranded running job by its absence
    BulkJob.update({column: column + 1, BulkJob.progressed_at: utcnow()}).where(
        BulkJob.id == job_id
    ).execute()


def _record(
    job_id: str,
    app_id: str,
    outcome: BulkOutcome,
    reason: str | None = None,
    command_id: str | None = None,
) -> None:
    """Insert the app's result row and count it (inside the caller's transaction)."""
    BulkJobItem.create(
        job=job_id,
        app_id=app_id,
        outcome=outcome,
        reason=reason,
        command_id=command_id,
        created=utcnow(),
    )
    _count(job_id, outcome)


def _handled(job_id: str, app_id: str) -> bool:
    return (
        BulkJobItem.select()
        .where((BulkJobItem.job == job_id) & (BulkJobItem.app_id == app_id))
        .exists()
    )


def _set_disabled(job: BulkJob, app: Apps, actor: Actor) -> None:
    app_id = app.id
    disabled = job.command == "DISABLE"
    now = utcnow()
    Apps.update({Apps.disabled: disabled, Apps.version: app.version + 1, Apps.updated: now}).where(
        Apps.id == app_id
    ).execute()
    audit.write(  # same transaction, same row shape as a command's
        AuditContext(actor=actor),
        "apps.disable" if disabled else "apps.enable",
        details={"app_id": app_id, "bulk_job_id": job.id},
    )


def _apply_one(job: BulkJob, app_id: str, actor: Actor) -> None:
    try:
        with write_transaction():
            if not _still_open(job.id) or _handled(job.id, app_id):
                return  # cancelled, or a previous delivery handled it
            app = locking(Apps.select().where(Apps.id == app_id)).first()
            if app is None:
                raise NotFound(f"No app with id {app_id!r}.")
            found = verdict(job.command, app)  # the dry run's rule
            if not found.applies:
                _record(job.id, app_id, BulkOutcome.SKIPPED, reason=found.message)
                return
            if job.command in ("ENABLE", "DISABLE"):
                _set_disabled(job, app, actor)
                _record(job.id, app_id, BulkOutcome.APPLIED)
            else:
                issued = commands.issue_command(
                    app_id,
                    CommandFlag(job.command),
                    actor,
                    bulk_job_id=job.id,
                )
                _record(job.id, app_id, BulkOutcome.APPLIED, command_id=issued.id)
        return
    except IntegrityError:
        return  # another delivery recorded this app meanwhile: its result stands
    except (Conflict, NotFound) as exc:
        outcome, reason = BulkOutcome.SKIPPED, exc.message
    except ControlError as exc:
        outcome, reason = BulkOutcome.FAILED, exc.message
    except Exception as exc:  # noqa: BLE001 - recorded per app, the job goes on
        outcome, reason = BulkOutcome.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    try:
        with write_transaction():
            if not _handled(job.id, app_id):
                _record(job.id, app_id, outcome, reason=reason)
    except IntegrityError:
        pass


def progress_event(job: BulkJob) -> None:
    done = job.applied + job.skipped + job.failed
    publish(
        EventType.BULK_JOB_UPDATED,
        {"job_id": job.id, "status": job.status.value, "done": done, "total": job.matched},
    )


def recount(job_id: str) -> dict[Any, Any]:
    """The job's applied / skipped / failed counts, from its result rows."""
    counts = dict.fromkeys((BulkJob.applied, BulkJob.skipped, BulkJob.failed), 0)
    columns = {
        BulkOutcome.APPLIED: BulkJob.applied,
        BulkOutcome.SKIPPED: BulkJob.skipped,
        BulkOutcome.FAILED: BulkJob.failed,
    }
    rows = tuples(
        BulkJobItem.select(BulkJobItem.outcome, fn.COUNT(BulkJobItem.id).alias("n"))
        .where(BulkJobItem.job == job_id)
        .group_by(BulkJobItem.outcome)
    )
    for outcome, n in rows:
        counts[columns[outcome]] = n
    return counts


def _complete_if_done(job_id: str) -> bool:
    """Inside the caller's transaction, after its counts: mark the job completed when
    every app has its result. The job row is locked by the counts' UPDATE (PostgreSQL,
    MSSQL) or the transaction (SQLite), so the last chunk to commit sees them all."""
    job = _job(job_id)
    if job.status in FINISHED or job.applied + job.skipped + job.failed < job.matched:
        return False
    values = recount(job_id) | {BulkJob.status: BulkStatus.COMPLETED, BulkJob.finished: utcnow()}
    BulkJob.update(values).where(BulkJob.id == job_id).execute()
    return True


def chunk_size(job: BulkJob) -> int:
    """Apps per chunk: :data:`CHUNK_SIZE`, or with a ``rate`` at most that many (one at
    least), so that a paced job's chunks are about a second apart."""
    if job.rate is None:
        return CHUNK_SIZE
    return max(1, min(CHUNK_SIZE, int(job.rate)))


def spacing(job: BulkJob) -> float:
    """Seconds between the starts of two chunks of the job: ``chunk_size / rate`` (0
    without a rate)."""
    return chunk_size(job) / job.rate if job.rate else 0.0


def chunks(job: BulkJob, size: int | None = None) -> list[tuple[int, int]]:
    """The ``(start, stop)`` slices of the job's app ids, ``size`` apps each (default
    :func:`chunk_size`), that still hold an app without a result."""
    size = size or chunk_size(job)
    done = {
        row.app_id
        for row in BulkJobItem.select(BulkJobItem.app_id).where(BulkJobItem.job == job.id)
    }
    ids: list[str] = job.app_ids
    return [
        (start, min(start + size, len(ids)))
        for start in range(0, len(ids), size)
        if any(app_id not in done for app_id in ids[start : start + size])
    ]


def take_up(job_id: str) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """Mark a queued or running job running (stamping ``started`` the first time); the job
    and its chunks still to apply (none when it is finished: it is marked completed if
    every app has its result)."""
    with connected():
        job = _job(job_id)
        if job.status in FINISHED:
            return view(job), []
        now = utcnow()
        BulkJob.update(
            {
                BulkJob.status: BulkStatus.RUNNING,
                BulkJob.started: fn.COALESCE(BulkJob.started, now),
                BulkJob.progressed_at: now,
            }
        ).where(
            BulkJob.id == job_id, BulkJob.status.in_([BulkStatus.QUEUED, BulkStatus.RUNNING])
        ).execute()
        job = _job(job_id)
        if job.status is not BulkStatus.RUNNING:  # failed meanwhile
            return view(job), []
        pending = chunks(job)
        if not pending:
            with write_transaction():
                BulkJob.update(recount(job_id)).where(BulkJob.id == job_id).execute()
                _complete_if_done(job_id)
            job = _job(job_id)
        progress_event(job)
        return view(job), pending


def _apply_chunk(job: BulkJob, app_ids: list[str], actor: Actor) -> None:
    """One transaction for ``app_ids`` (one chunk): lock the apps, skip those with a
    result, check each by the dry run's rule, issue the commands (or flip ``disabled``)
    and insert the result rows with set-based statements, count them on the job and
    complete it when this was its last chunk."""
    with write_transaction():
        if not _still_open(job.id):
            return  # cancelled (or finished) before this chunk: nothing is commanded
        query: Any = Apps.select().where(Apps.id.in_(app_ids)).order_by(Apps.id)
        locked = locking(query)
        apps = {app.id: app for app in cast("list[Apps]", list(locked))}
        handled = {
            row.app_id
            for row in BulkJobItem.select(BulkJobItem.app_id).where(
                (BulkJobItem.job == job.id) & BulkJobItem.app_id.in_(app_ids)
            )
        }
        outcomes: list[tuple[str, BulkOutcome, str | None]] = []
        applying: list[Apps] = []
        for app_id in app_ids:
            if app_id in handled:
                continue  # a previous delivery handled it
            app = apps.get(app_id)
            if app is None:
                outcomes.append((app_id, BulkOutcome.SKIPPED, f"No app with id {app_id!r}."))
                continue
            found = verdict(job.command, app)  # the dry run's rule
            if not found.applies:
                outcomes.append((app_id, BulkOutcome.SKIPPED, found.message))
                continue
            outcomes.append((app_id, BulkOutcome.APPLIED, None))
            applying.append(app)
        if not outcomes:
            return
        if job.command in ("ENABLE", "DISABLE"):
            _set_disabled_many(job, applying, actor)
            issued: dict[str, str] = {}
        else:
            issued = commands.issue_many(
                applying, CommandFlag(job.command), actor, bulk_job_id=job.id
            )
        now = utcnow()
        rows = [
            {
                "job": job.id,
                "app_id": app_id,
                "outcome": outcome,
                "reason": reason,
                "command_id": issued.get(app_id),
                "created": now,
            }
            for app_id, outcome, reason in outcomes
        ]
        for batch in chunked(rows, commands.INSERT_BATCH):
            BulkJobItem.insert_many(batch).execute()
        counts = dict.fromkeys(BulkOutcome, 0)
        for _, outcome, _ in outcomes:
            counts[outcome] += 1
        BulkJob.update(
            {
                BulkJob.applied: BulkJob.applied + counts[BulkOutcome.APPLIED],
                BulkJob.skipped: BulkJob.skipped + counts[BulkOutcome.SKIPPED],
                BulkJob.failed: BulkJob.failed + counts[BulkOutcome.FAILED],
                BulkJob.progressed_at: now,
            }
        ).where(BulkJob.id == job.id).execute()
        _complete_if_done(job.id)


def _set_disabled_many(job: BulkJob, apps: list[Apps], actor: Actor) -> None:
    if not apps:
        return
    disabled = job.command == "DISABLE"
    ids = [app.id for app in apps]
    for batch in chunked(ids, commands.INSERT_BATCH):
        Apps.update(
            {Apps.disabled: disabled, Apps.version: Apps.version + 1, Apps.updated: utcnow()}
        ).where(Apps.id.in_(batch)).execute()
    audit.write_many(  # same transaction, same row shape as a command's
        AuditContext(actor=actor),
        "apps.disable" if disabled else "apps.enable",
        [{"app_id": app_id, "bulk_job_id": job.id} for app_id in ids],
    )


def apply_chunk(job_id: str, start: int, stop: int) -> dict[str, Any]:
    """Apply the job to its apps ``app_ids[start:stop]`` (one chunk message); the job as
    it stands. One transaction (``_apply_chunk``); should it fail, the chunk is applied
    app by app instead, so one app's error is that app's ``failed`` result and the
    others go on (the database down fails that too: the message is retried). Safe to
    run again: the apps with a result are skipped. Nothing for a job completed,
    failed or cancelled."""
    with connected():
        job = _job(job_id)
        if job.status in FINISHED:
            return view(job)
        actor = Actor(subject=job.requested_by, kind=job.requester_kind)
        app_ids: list[str] = job.app_ids[start:stop]
        try:
            try:
                _apply_chunk(job, app_ids, actor)
            except IntegrityError:  # a concurrent delivery recorded some: skip them now
                _apply_chunk(job, app_ids, actor)
        except Exception:  # one app's error, or the database's (app by app raises it)
            log.warning("bulk job %s: chunk %d-%d app by app", job_id, start, stop, exc_info=True)
            for app_id in app_ids:
                _apply_one(job, app_id, actor)
            with write_transaction():
                BulkJob.update(recount(job_id) | {BulkJob.progressed_at: utcnow()}).where(
                    BulkJob.id == job_id
                ).execute()
                _complete_if_done(job_id)
        give_writers_a_turn()  # a cancel or a command waiting for the lock goes next
        job = _job(job_id)
        progress_event(job)
        return view(job)


def apply_job(job_id: str) -> dict[str, Any]:
    """Apply a whole job here, chunk after chunk (no messages); the job as it stands.

    Safe to run again (redelivery): handled apps are skipped."""
    found, pending = take_up(job_id)
    for start, stop in pending:
        found = apply_chunk(job_id, start, stop)
    return found
