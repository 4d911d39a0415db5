"""Reading the audit log: the activity feed and the dashboard's figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from peewee import Case, ModelSelect, fn

from control.apps.models import Apps
from control.audit import rollup
from control.audit.models import AuditLog
from control.clock import utcnow
from control.enums import FatalFlag, RunStatus, RuntimeStatus
from control.querying import keyset_page, one_tuple, tuples, where_given, within
from control.runtimes import rollup as runtime_rollup

OUTCOMES = ("success", "denied", "failed", "error")
FAILED_LOGINS = ("auth.login_failed", "auth.service_failed")
PERIODS: dict[str, dt.timedelta] = {
    "last_1h": dt.timedelta(hours=1),
    "last_24h": dt.timedelta(hours=24),
    "last_7d": dt.timedelta(days=7),
}
TOP_ACTORS = 5

# newest first; the id breaks ties between rows written in the same instant
ORDER = ((AuditLog.at, True), (AuditLog.id, True))


@dataclass(frozen=True)
class ActivityFilter:
    """The feed's filters; None means 'any'. ``action`` ending in ``*`` is a prefix."""

    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None  # inclusive, naive UTC
    until: dt.datetime | None = None  # exclusive, naive UTC


def item(row: AuditLog) -> dict[str, Any]:
    """One feed entry."""
    return {
        "id": row.id,
        "at": row.at,
        "actor": row.actor,
        "actor_type": row.actor_type,
        "role": row.role,
        "ip": row.ip,
        "action": row.action,
        "method": row.method,
        "endpoint": row.endpoint,
        "summary": row.summary,
        "status": row.status,
        "outcome": row.outcome,
        "request_id": row.request_id,
    }


def _filtered(f: ActivityFilter) -> ModelSelect[AuditLog]:
    query = where_given(AuditLog.select(), {AuditLog.actor: f.actor})
    if f.action is not None:
        if f.action.endswith("*"):
            # startswith() escapes LIKE wildcards, so only the trailing * is a pattern
            query = query.where(AuditLog.action.startswith(f.action[:-1]))
        else:
            query = query.where(AuditLog.action == f.action)
    query = where_given(query, {AuditLog.outcome: f.outcome})
    return within(query, AuditLog.at, f.since, f.until)


def list_activity(
    f: ActivityFilter, after: Sequence[Any] | None, limit: int
) -> tuple[list[dict[str, Any]], tuple[Any, ...] | None]:
    """One page of the feed, newest first, after the row key ``after``."""
    rows, key = keyset_page(_filtered(f), ORDER, after, limit, key=("activity", f))
    return [item(r) for r in rows], key


def activity_stats(since: dt.datetime) -> dict[str, Any]:
    """Audit figures since ``since``: totals by action and outcome, failed logins, top
    actors (from the hourly rollups for their whole hours, ``control.audit.rollup``)."""
    by_action: dict[str, int] = {}
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    for (action, outcome), n in rollup.by_action(since).items():
        by_action[action] = by_action.get(action, 0) + n
        by_outcome[outcome] = by_outcome.get(outcome, 0) + n
    return {
        "total": sum(by_action.values()),
        "by_action": dict(sorted(by_action.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_outcome": by_outcome,
        "failed_logins": sum(by_action.get(a, 0) for a in FAILED_LOGINS),
        "top_actors": [
            {"actor": actor, "count": n} for actor, n in rollup.top_actors(since, TOP_ACTORS)
        ],
    }


def fleet_stats(since: dt.datetime) -> dict[str, Any]:
    """The fleet now (apps by status and flag) and its runtimes since ``since``: runs
    started, and runs finished (by their end, by their start when they have none)
    COMPLETED and FAILED."""
    by_status = {s.value: 0 for s in RunStatus}
    grouped = Apps.select(Apps.run_status, fn.COUNT(Apps.id)).group_by(Apps.run_status)
    for status, n in tuples(grouped):
        by_status[RunStatus(status).value] = n
    total, fatal, disabled = one_tuple(
        Apps.select(
            fn.COUNT(Apps.id),
            fn.SUM(Case(None, ((Apps.fatal_flag == FatalFlag.FATAL, 1),), 0)),
            fn.SUM(Case(None, ((Apps.disabled == True, 1),), 0)),  # noqa: E712 - SQL
        )
    )
    # from the hourly rollups for their whole hours (control.runtimes.rollup)
    runs = runtime_rollup.counts(since)
    return {
        "apps": {
            "total": int(total or 0),
            "by_run_status": by_status,
            "fatal": int(fatal or 0),
            "disabled": int(disabled or 0),
        },
        "runtimes": {
            "started": runs.started,
            "completed": runs.finished.get(RuntimeStatus.COMPLETED, 0),
            "failed": runs.finished.get(RuntimeStatus.FAILED, 0),
        },
    }


def stats(period: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """The dashboard's figures over ``period`` (a key of :data:`PERIODS`)."""
    until = now or utcnow()
    since = until - PERIODS[period]
    return {
        "period": period,
        "since": since,
        "until": until,
        "activity": activity_stats(since),
        **fleet_stats(since),
    }
