"""Bulk jobs: create one from a filter, apply it app by app, read it back.

The API creates the job (the matched app ids frozen in it) and sends the worker its id
after the commit. ``apply_job`` handles each app in one transaction that issues the
command (through ``issue_command``: flag, command, outbox, audit) and inserts the app's
result row; the row is unique per (job, app), so a job redelivered after a worker died
skips the apps already handled and never commands one twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError, fn

from control.apps.services import AppFilter, _filtered
from control.bulk.models import BulkJob, BulkJobItem, BulkOutcome, BulkStatus
from control.commands import services as commands
from control.commands.services import Actor, locking
from control.db.database import connected, database, write_transaction
from control.db.models import Apps, utcnow
from control.enums import CommandFlag, FatalFlag, RunStatus
from control.errors import Conflict, ControlError, InvalidInput, NotFound
from control.events import EventType, publish
from control.querying import Page, paginate

COMMANDS = ("START", "STOP", "RESTART", "RESET", "ENABLE", "DISABLE")
FILTER_KEYS = ("group", "parent", "run_status", "fatal_flag", "app_ids")
PROGRESS_EVERY = 10  # a bulk.job_updated event every this many apps (and at the end)


@dataclass(frozen=True)
class Created:
    """What ``create_job`` answers: the job (``created`` False for a replayed key), or
    for a dry run the matched app ids only."""

    job: dict[str, Any] | None
    created: bool = False
    matched: list[str] | None = None


def _clean_filter(raw: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(raw) - set(FILTER_KEYS))
    if unknown:
        raise InvalidInput(f"Not a filter: {', '.join(unknown)}.", field=f"filter.{unknown[0]}")
    cleaned = {k: v for k, v in raw.items() if v is not None and v != [] and v != ""}
    if not cleaned:
        raise InvalidInput(
            "An empty filter would match every app; name a group, parent, run_status, "
            "fatal_flag or app_ids.",
            field="filter",
        )
    if "run_status" in cleaned:
        cleaned["run_status"] = RunStatus(cleaned["run_status"]).value
    if "fatal_flag" in cleaned:
        cleaned["fatal_flag"] = FatalFlag(cleaned["fatal_flag"]).value
    if "app_ids" in cleaned:
        cleaned["app_ids"] = sorted(set(cleaned["app_ids"]))
    return cleaned


def match(filter: Mapping[str, Any]) -> list[str]:
    """The ids of the apps ``filter`` (already cleaned) matches, sorted."""
    f = AppFilter(
        group=filter.get("group"),
        parent=filter.get("parent"),
        run_status=RunStatus(filter["run_status"]) if "run_status" in filter else None,
        fatal_flag=FatalFlag(filter["fatal_flag"]) if "fatal_flag" in filter else None,
    )
    query = _filtered(Apps.select(Apps.id), f)
    if "app_ids" in filter:
        query = query.where(Apps.id.in_(filter["app_ids"]))
    return [row.id for row in query.order_by(Apps.id)]


def _existing(actor: Actor, key: str | None) -> BulkJob | None:
    if not key:
        return None
    return BulkJob.get_or_none(
        (BulkJob.requested_by == actor.subject[:254]) & (BulkJob.idempotency_key == key)
    )


def create_job(
    filter: Mapping[str, Any],
    command: str,
    actor: Actor,
    *,
    idempotency_key: str | None = None,
    dry_run: bool = False,
    cap: int = 5000,
) -> Created:
    """Validate, match and (unless ``dry_run``) create a queued job.

    The same ``idempotency_key`` from the same requester returns the job created first
    (``created`` False), whatever the body. InvalidInput for an empty filter, an unknown
    command or more than ``cap`` matched apps.
    """
    command = str(command).upper()
    if command not in COMMANDS:
        raise InvalidInput(f"Not a bulk command: {command}.", field="command")
    with connected():
        if not dry_run and (found := _existing(actor, idempotency_key)) is not None:
            return Created(job=view(found), created=False)
        cleaned = _clean_filter(filter)
        ids = match(cleaned)
        if len(ids) > cap:
            raise InvalidInput(
                f"The filter matches {len(ids)} apps, more than the limit of {cap}; narrow it.",
                field="filter",
            )
        if dry_run:
            return Created(job=None, matched=ids)
        try:
            with database.atomic():
                job = BulkJob.create(
                    id=uuid.uuid4().hex,
                    command=command,
                    filter=cleaned,
                    app_ids=ids,
                    matched=len(ids),
                    requested_by=actor.subject[:254],
                    requester_kind=actor.kind[:16],
                    idempotency_key=idempotency_key or None,
                    created=utcnow(),
                )
        except IntegrityError:  # the same key, concurrently: the other request won
            found = _existing(actor, idempotency_key)
            if found is None:
                raise
            return Created(job=view(found), created=False)
        return Created(job=view(job), created=True)


# -- applying --------------------------------------------------------------------------


def _count(job_id: str, outcome: BulkOutcome) -> None:
    column = {
        BulkOutcome.APPLIED: BulkJob.applied,
        BulkOutcome.SKIPPED: BulkJob.skipped,
        BulkOutcome.FAILED: BulkJob.failed,
    }[outcome]
    BulkJob.update({column: column + 1}).where(BulkJob.id == job_id).execute()


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


def _set_disabled(job: BulkJob, app_id: str, actor: Actor) -> None:
    disabled = job.command == "DISABLE"
    app = locking(Apps.select().where(Apps.id == app_id)).first()
    if app is None:
        raise NotFound(f"No app with id {app_id!r}.")
    if app.disabled == disabled:
        raise Conflict(f"App {app_id!r} is already {'disabled' if disabled else 'enabled'}.")
    now = utcnow()
    Apps.update({Apps.disabled: disabled, Apps.version: app.version + 1, Apps.updated: now}).where(
        Apps.id == app_id
    ).execute()
    commands._write_audit(  # same transaction, same row shape as a command's
        "apps.disable" if disabled else "apps.enable",
        actor,
        {"app_id": app_id, "bulk_job_id": job.id},
        {},
    )


def _apply_one(job: BulkJob, app_id: str, actor: Actor) -> None:
    try:
        with write_transaction():
            if _handled(job.id, app_id):
                return  # a previous delivery handled it
            if job.command in ("ENABLE", "DISABLE"):
                _set_disabled(job, app_id, actor)
                _record(job.id, app_id, BulkOutcome.APPLIED)
            else:
                issued = commands.issue_command(
                    app_id,
                    CommandFlag(job.command),
                    actor,
                    bulk_job_id=job.id,
                    audit={"summary": {"bulk_job_id": job.id}},
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


def _progress_event(job: BulkJob) -> None:
    done = job.applied + job.skipped + job.failed
    publish(
        EventType.BULK_JOB_UPDATED,
        {"job_id": job.id, "status": job.status.value, "done": done, "total": job.matched},
    )


def _recount(job_id: str) -> dict[Any, Any]:
    counts = dict.fromkeys((BulkJob.applied, BulkJob.skipped, BulkJob.failed), 0)
    columns = {
        BulkOutcome.APPLIED: BulkJob.applied,
        BulkOutcome.SKIPPED: BulkJob.skipped,
        BulkOutcome.FAILED: BulkJob.failed,
    }
    rows = (
        BulkJobItem.select(BulkJobItem.outcome, fn.COUNT(BulkJobItem.id).alias("n"))
        .where(BulkJobItem.job == job_id)
        .group_by(BulkJobItem.outcome)
    )
    for row in rows:
        counts[columns[row.outcome]] = row.n
    return counts


def apply_job(job_id: str) -> dict[str, Any]:
    """Apply a job's command to each of its apps not handled yet; the finished job.

    Safe to run again (redelivery): handled apps are skipped, counts are recomputed
    from the result rows at the end.
    """
    with connected():
        job = _job(job_id)
        if job.status in (BulkStatus.COMPLETED, BulkStatus.FAILED):
            return view(job)
        BulkJob.update(
            {BulkJob.status: BulkStatus.RUNNING, BulkJob.started: job.started or utcnow()}
        ).where(BulkJob.id == job_id).execute()
        job = _job(job_id)
        _progress_event(job)
        actor = Actor(subject=job.requested_by, kind=job.requester_kind)
        done = {
            row.app_id
            for row in BulkJobItem.select(BulkJobItem.app_id).where(BulkJobItem.job == job_id)
        }
        for n, app_id in enumerate(job.app_ids, start=1):
            if app_id in done:
                continue
            _apply_one(job, app_id, actor)
            if n % PROGRESS_EVERY == 0:
                _progress_event(_job(job_id))
        values = _recount(job_id) | {
            BulkJob.status: BulkStatus.COMPLETED,
            BulkJob.finished: utcnow(),
        }
        BulkJob.update(values).where(BulkJob.id == job_id).execute()
        job = _job(job_id)
        _progress_event(job)
        return view(job)


def fail_job(job_id: str, error: str) -> None:
    """Mark a job failed (the worker gave up on it); its recorded results stay."""
    with connected():
        values = _recount(job_id) | {
            BulkJob.status: BulkStatus.FAILED,
            BulkJob.error: error[:2000],
            BulkJob.finished: utcnow(),
        }
        BulkJob.update(values).where(
            BulkJob.id == job_id, BulkJob.status.in_([BulkStatus.QUEUED, BulkStatus.RUNNING])
        ).execute()


def stale_queued(older_than: dt.timedelta, limit: int = 100) -> list[str]:
    """Ids of jobs still ``queued`` since ``older_than`` ago (created, or last re-sent);
    marks them re-sent now so the next sweep leaves them alone while they wait again."""
    cutoff = utcnow() - older_than
    with connected(), write_transaction():
        ids = [
            row.id
            for row in BulkJob.select(BulkJob.id)
            .where(
                BulkJob.status == BulkStatus.QUEUED,
                fn.COALESCE(BulkJob.requeued_at, BulkJob.created) < cutoff,
            )
            .order_by(BulkJob.created)
            .limit(limit)
        ]
        if ids:
            BulkJob.update(requeued_at=utcnow()).where(BulkJob.id.in_(ids)).execute()
    return ids


# -- reading ---------------------------------------------------------------------------


def _job(job_id: str) -> BulkJob:
    found = BulkJob.get_or_none(BulkJob.id == job_id)
    if found is None:
        raise NotFound(f"No bulk job with id {job_id!r}.")
    return found


def view(job: BulkJob) -> dict[str, Any]:
    """A job as the API shows it (without its per-app results)."""
    done = job.applied + job.skipped + job.failed
    return {
        "id": job.id,
        "command": job.command,
        "filter": job.filter,
        "status": job.status,
        "matched": job.matched,
        "applied": job.applied,
        "skipped": job.skipped,
        "failed": job.failed,
        "done": done,
        "percent": round(100 * done / job.matched, 1) if job.matched else 100.0,
        "error": job.error,
        "requested_by": job.requested_by,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
    }


def get_job(job_id: str) -> dict[str, Any]:
    """One job with its per-app results (in the order the apps were handled)."""
    with connected():
        job = _job(job_id)
        items = BulkJobItem.select().where(BulkJobItem.job == job_id).order_by(BulkJobItem.id)
        results = [
            {
                "app_id": item.app_id,
                "outcome": item.outcome,
                "reason": item.reason,
                "command_id": item.command_id,
            }
            for item in items
        ]
        return view(job) | {"results": results}


def list_jobs(page: int, per_page: int, status: BulkStatus | None = None) -> Page:
    """Newest first, without results."""
    with connected():
        query = BulkJob.select().order_by(BulkJob.created.desc(), BulkJob.id.desc())
        if status is not None:
            query = query.where(BulkJob.status == status)
        result = paginate(query, page, per_page)
        return Page([view(j) for j in result.rows], result.page, result.per_page, result.total)
