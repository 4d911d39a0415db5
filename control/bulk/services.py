"""Bulk jobs: create one from a filter, read it back (applying it: :mod:`control.bulk.apply`).

The API creates the job (the matched app ids frozen in it) and sends the worker its id
after the commit; the worker applies it through :mod:`control.bulk.apply`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError

from control.apps.models import Apps
from control.apps.services import AppFilter, _filtered
from control.audit.context import Actor
from control.bulk.eligibility import Verdict, verdict
from control.bulk.models import BulkJob, BulkJobItem, BulkStatus
from control.clock import utcnow
from control.db.database import connected, write_transaction
from control.enums import FatalFlag, RunStatus
from control.errors import InvalidInput, NotFound
from control.querying import Page, paginate

COMMANDS = ("START", "STOP", "RESTART", "RESET", "ENABLE", "DISABLE")
FILTER_KEYS = ("group", "parent", "run_status", "fatal_flag", "app_ids")


@dataclass(frozen=True)
class Created:
    """What ``create_job`` answers: the job (``created`` False for a replayed key), or
    for a dry run the matched app ids and, per app, whether the command would apply."""

    job: dict[str, Any] | None
    created: bool = False
    matched: list[str] | None = None
    preview: list[Verdict] | None = None


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


def _matching(filter: Mapping[str, Any], *columns: Any) -> Any:
    f = AppFilter(
        group=filter.get("group"),
        parent=filter.get("parent"),
        run_status=RunStatus(filter["run_status"]) if "run_status" in filter else None,
        fatal_flag=FatalFlag(filter["fatal_flag"]) if "fatal_flag" in filter else None,
    )
    query = _filtered(Apps.select(*columns), f)
    if "app_ids" in filter:
        query = query.where(Apps.id.in_(filter["app_ids"]))
    return query.order_by(Apps.id)


def match(filter: Mapping[str, Any]) -> list[str]:
    """The ids of the apps ``filter`` (already cleaned) matches, sorted."""
    return [row.id for row in _matching(filter, Apps.id)]


def preview(filter: Mapping[str, Any], command: str) -> list[Verdict]:
    """Per matched app (sorted), whether ``command`` would apply now: the dry run."""
    return [verdict(command, app) for app in _matching(filter)]


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
    rate: float | None = None,
) -> Created:
    """Validate, match and (unless ``dry_run``) create a queued job.

    The same ``idempotency_key`` from the same requester returns the job created first
    (``created`` False), whatever the body. InvalidInput for an empty filter, an unknown
    command or more than ``cap`` matched apps. ``rate`` (apps per second) paces the job's
    chunks (:func:`control.bulk.apply.spacing`); a dry run ignores it.
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
            return Created(job=None, matched=ids, preview=preview(cleaned, command))
        try:
            with write_transaction():
                job = BulkJob.create(
                    id=uuid.uuid4().hex,
                    command=command,
                    filter=cleaned,
                    app_ids=ids,
                    matched=len(ids),
                    requested_by=actor.subject[:254],
                    requester_kind=actor.kind[:16],
                    idempotency_key=idempotency_key or None,
                    rate=rate,
                    created=utcnow(),
                )
        except IntegrityError:  # the same key, concurrently: the other request won
            found = _existing(actor, idempotency_key)
            if found is None:
                raise
            return Created(job=view(found), created=False)
        return Created(job=view(job), created=True)


# -- reading ---------------------------------------------------------------------------


def _job(job_id: str) -> BulkJob:
    found = BulkJob.get_or_none(BulkJob.id == job_id)
    if found is None:
        raise NotFound(f"No bulk job with id {job_id!r}.")
    return found


def status(job_id: str) -> BulkStatus:
    """The job's status now."""
    with connected():
        return BulkStatus(_job(job_id).status)


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
        "rate": job.rate,
        "requested_by": job.requested_by,
        "cancelled_by": job.cancelled_by,
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
