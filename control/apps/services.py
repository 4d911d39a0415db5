"""Reading apps: filtered, sorted pages and the detail view with the last runtime."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import JOIN, Case, ModelSelect, fn

from control.db.models import Apps, Runtime, utcnow
from control.enums import FatalFlag, RunStatus
from control.errors import NotFound
from control.querying import Page, SortKey, apply_sort, paginate

SORTABLE = {
    "id": Apps.id,
    "app": Apps.app,
    "group": Apps.group,
    "parent": Apps.parent,
    "run_status": Apps.run_status,
    "fatal_flag": Apps.fatal_flag,
    "next_run": Apps.next_run,
    "disabled": Apps.disabled,
    "last_run": Runtime.started,
    "updated": Apps.updated,
}


@dataclass(frozen=True)
class AppFilter:
    """The list filters; None means 'any'."""

    group: str | None = None
    parent: str | None = None
    run_status: RunStatus | None = None
    fatal_flag: FatalFlag | None = None
    disabled: bool | None = None
    is_service: bool | None = None
    q: str | None = None


def _with_last_runtime() -> ModelSelect:
    return Apps.select(Apps, Runtime).join(
        Runtime, JOIN.LEFT_OUTER, on=(Runtime.id == Apps.last_runtime), attr="last"
    )


def _filtered(query: ModelSelect, f: AppFilter) -> ModelSelect:
    exact = {
        Apps.group: f.group,
        Apps.parent: f.parent,
        Apps.run_status: f.run_status,
        Apps.fatal_flag: f.fatal_flag,
        Apps.disabled: f.disabled,
        Apps.is_service: f.is_service,
    }
    for column, value in exact.items():
        if value is not None:
            query = query.where(column == value)
    if f.q:
        # contains() escapes LIKE wildcards and is case-insensitive on every dialect
        query = query.where(Apps.id.contains(f.q) | Apps.app.contains(f.q))
    return query


def list_apps(f: AppFilter, sort: list[SortKey], page: int, per_page: int) -> Page:
    """One page of apps matching ``f``, each with its last runtime joined."""
    query = apply_sort(_filtered(_with_last_runtime(), f), sort, SORTABLE, tiebreak=Apps.id)
    result = paginate(query, page, per_page)
    return Page([summary(a) for a in result.rows], result.page, result.per_page, result.total)


def _count_where(condition: Any) -> Any:
    return fn.SUM(Case(None, [(condition, 1)], 0))


def group_counts() -> list[dict[str, Any]]:
    """Every group, by name, with how many apps it has and how many of them are running,
    fatal or disabled: one GROUP BY."""
    rows = (
        Apps.select(
            Apps.group,
            fn.COUNT(Apps.id).alias("apps"),
            _count_where(Apps.run_status == RunStatus.RUNNING).alias("running"),
            _count_where(Apps.fatal_flag != FatalFlag.NO_FATAL).alias("fatal"),
            _count_where(Apps.disabled == True).alias("disabled"),  # noqa: E712
        )
        .group_by(Apps.group)
        .order_by(Apps.group)
        .tuples()
    )
    return [
        {"group": group, "apps": int(n), "running": int(r), "fatal": int(f), "disabled": int(d)}
        for group, n, r, f, d in rows
    ]


def get_app(app_id: str) -> dict[str, Any]:
    """The detail view of one app, or NotFound."""
    app = _with_last_runtime().where(Apps.id == app_id).first()
    if app is None:
        raise NotFound(f"No app with id {app_id!r}.")
    current = None
    if app.current_runtime:
        current = Runtime.select(Runtime.started).where(Runtime.id == app.current_runtime).first()
    return detail(app, current_started=current.started if current else None)


def eta_seconds(
    current: int | None,
    total: int | None,
    started: dt.datetime | None,
    measured: dt.datetime | None,
) -> float | None:
    """Seconds left at the run's average throughput so far; None when not computable.

    ``current / (measured - started)`` items per second, where ``measured`` is when
    ``current`` was reported; ``(total - current)`` divided by that rate.
    """
    if current is None or total is None or started is None or measured is None:
        return None
    if total <= 0 or current <= 0:
        return None
    if current >= total:
        return 0.0
    elapsed = (measured - started).total_seconds()
    if elapsed <= 0:
        return None
    return (total - current) / (current / elapsed)


def progress(
    app: Apps, current_started: dt.datetime | None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Live progress with percent done and the ETA of the current run.

    The ETA counts from when the progress was last reported (or now, if never), so
    ``eta`` is that moment plus ``eta_seconds``.
    """
    current, total = app.progress_current, app.progress_total
    measured = app.progress_updated or now or utcnow()
    seconds = eta_seconds(current, total, current_started, measured)
    percent = None
    if current is not None and total:
        percent = round(100 * current / total, 1)
    return {
        "current": current,
        "total": total,
        "updated": app.progress_updated,
        "percent": percent,
        "eta_seconds": round(seconds, 1) if seconds is not None else None,
        "eta": measured + dt.timedelta(seconds=round(seconds)) if seconds is not None else None,
    }


def _last_runtime(app: Apps) -> dict[str, Any] | None:
    last = getattr(app, "last", None)
    if last is None or last.id is None:
        return None
    return {"runtime": last.id, "started": last.started, "ended": last.ended, "status": last.status}


def summary(app: Apps) -> dict[str, Any]:
    """The list item of an app."""
    return {
        "id": app.id,
        "app": app.app,
        "group": app.group,
        "parent": app.parent,
        "run_status": app.run_status,
        "command_flag": app.command_flag,
        "fatal_flag": app.fatal_flag,
        "disabled": app.disabled,
        "is_service": app.is_service,
        "schedule": app.schedule,
        "timezone": app.timezone,
        "next_run": app.next_run,
        "progress": {
            "current": app.progress_current,
            "total": app.progress_total,
            "updated": app.progress_updated,
        },
        "last_runtime": _last_runtime(app),
    }


def detail(
    app: Apps, current_started: dt.datetime | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The detail view of an app: the summary, every configuration field, progress and ETA.

    ``current_started`` is when the current runtime started (the ETA needs it).
    """
    return summary(app) | {
        "progress": progress(app, current_started, now),
        "description": app.description,
        "settings": app.settings,
        "fatal_reason": app.fatal_reason,
        "consecutive_failures": app.consecutive_failures,
        "current_runtime": app.current_runtime,
        "command_updated": app.command_updated,
        "version": app.version,
        "created": app.created,
        "updated": app.updated,
    }
