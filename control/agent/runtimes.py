"""One run of an app: claim it in the database, call the app on a thread, record the end.

``claim_run`` creates the ``Runtime`` (id ``YYYYMMDD_HHMMSS_<app id>``) and marks the app
RUNNING in one transaction, unless the app is disabled, fatal or already running (on
this agent or another): that check under the app's row lock is what keeps one run per
app at a time. ``finish_run`` writes the outcome: the runtime's status, end and record
counts; the app's ``run_status``, ``last_runtime``, ``consecutive_failures`` (FATAL after
``fatal_after`` failures in a row) and ``next_run`` (the schedule's next fire after now;
a failed service is restarted after a short delay). It only closes a runtime that is
still RUNNING, so a run closed by the stale-runtime detection, or force-stopped after the
grace period, is never reopened by a late finish. After its commit, ``finish_run`` hands
the run to ``control.health.services.run_ended`` (the app's baseline and verdicts).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from control.agent.context import Counts
from control.apps.models import Apps
from control.apps.schedule import next_fire
from control.clock import utcnow
from control.db.database import connected, locking, write_transaction
from control.enums import FatalFlag, RunStatus, RuntimeStatus
from control.events import EventType, publish
from control.health import services as health
from control.runtimes.models import Runtime

SERVICE_RESTART_SECONDS = 15
SERVICE_RESTART_MAX_SECONDS = 300
ERROR_MAX = 4000

log = logging.getLogger(__name__)


def runtime_id_for(app_id: str, started: dt.datetime) -> str:
    """``20250115_073000_scraper_company_registry``."""
    return f"{started:%Y%m%d_%H%M%S}_{app_id}"[:200]


def error_text(exc: BaseException) -> str:
    """``Type: message``, as the runtime's ``error`` holds it."""
    text = str(exc).strip()
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:ERROR_MAX]


def seconds_between(later: dt.datetime, earlier: dt.datetime) -> float:
    return round(max(0.0, (later - earlier).total_seconds()), 3)


@dataclass(frozen=True)
class Claim:
    """A run the database agreed to: its runtime and what the app looked like."""

    runtime_id: str
    app_id: str
    app_name: str
    group: str
    trigger: str
    is_service: bool
    settings: dict[str, Any]
    started: dt.datetime
    old_status: RunStatus


def status_changed(app_id: str, old: RunStatus | str, new: RunStatus | str) -> None:
    """Publish ``app.status_changed`` (after the commit that changed it)."""
    if str(old) != str(new):
        publish(
            EventType.APP_STATUS_CHANGED,
            {"app": app_id, "old_status": str(old), "new_status": str(new)},
        )


def claim_run(app_id: str, trigger: str, host: str) -> Claim | None:
    """Start a run of ``app_id`` in the database, or None if it may not run now."""
    with connected(), write_transaction():
        app = locking(Apps.select().where(Apps.id == app_id)).first()
        if app is None or app.disabled or app.fatal_flag is FatalFlag.FATAL:
            return None
        if app.current_runtime is not None:
            current = Runtime.get_or_none(Runtime.id == app.current_runtime)
            if current is not None and current.status is RuntimeStatus.RUNNING:
                return None  # running here or on another agent
        now = utcnow().replace(microsecond=0)
        started = now
        runtime_id = runtime_id_for(app.id, started)
        while Runtime.select().where(Runtime.id == runtime_id).exists():
            started += dt.timedelta(seconds=1)  # two runs in one second: keep ids unique
            runtime_id = runtime_id_for(app.id, started)
        Runtime.create(
            id=runtime_id,
            app=app.id,
            started=started,
            status=RuntimeStatus.RUNNING,
            trigger=trigger[:16],
            host=host[:255],
            heartbeat=now,
        )
        next_run = None
        if app.schedule and not app.is_service:
            next_run = next_fire(app.schedule, app.timezone, now)
        Apps.update(
            {
                Apps.run_status: RunStatus.RUNNING,
                Apps.current_runtime: runtime_id,
                Apps.progress_current: 0,
                Apps.progress_total: None,
                Apps.progress_updated: now,
                Apps.next_run: next_run,
                Apps.updated: now,
            }
        ).where(Apps.id == app.id).execute()
    status_changed(app.id, app.run_status, RunStatus.RUNNING)
    publish(EventType.RUNTIME_STARTED, {"app": app.id, "runtime": runtime_id, "trigger": trigger})
    return Claim(
        runtime_id=runtime_id,
        app_id=app.id,
        app_name=app.app,
        group=app.group,
        trigger=trigger,
        is_service=bool(app.is_service),
        settings=dict(app.settings or {}),
        started=started,
        old_status=app.run_status,
    )


@dataclass(frozen=True)
class Outcome:
    """What ``finish_run`` wrote: for the caller's log line and tests."""

    runtime_id: str
    app_id: str
    status: RuntimeStatus
    error: str | None
    records_total: int
    records_solved: int
    records_failed: int
    duration_seconds: float
    fatal: bool = False


def final_counts(counts: Counts | None, status: RuntimeStatus) -> tuple[int, int, int]:
    """(total, solved, failed) for the runtime row from what the app reported."""
    if counts is None:
        return 0, 0, 0
    solved, failed = counts.solved, counts.failed
    if solved + failed == 0 and counts.current:
        solved = counts.current  # progress only: items done count as solved
    return max(counts.total or 0, solved + failed), solved, failed


def outcome_values(
    app: Apps,
    runtime_id: str,
    status: RuntimeStatus,
    error: str | None,
    *,
    fatal_after: int,
    now: dt.datetime,
    resume_service: bool = False,
) -> tuple[dict[Any, Any], str | None]:
    """The app's new column values after its run ended, and the fatal reason if it turned
    FATAL now."""
    failures = app.consecutive_failures or 0
    if status is RuntimeStatus.COMPLETED:
        failures = 0
    elif status is RuntimeStatus.FAILED:
        failures += 1
    fatal_reason = None
    values: dict[Any, Any] = {
        Apps.run_status: RunStatus.FAILED if status is RuntimeStatus.FAILED else RunStatus.IDLE,
        Apps.current_runtime: None,
        Apps.last_runtime: runtime_id,
        Apps.consecutive_failures: failures,
        Apps.progress_updated: now,
        Apps.updated: now,
    }
    if app.is_service:
        if status is RuntimeStatus.FAILED:
            delay = min(SERVICE_RESTART_MAX_SECONDS, SERVICE_RESTART_SECONDS * failures)
            values[Apps.next_run] = now + dt.timedelta(seconds=delay)
        else:
            values[Apps.next_run] = now if resume_service else None
    elif app.schedule and (app.next_run is None or app.next_run <= now):
        values[Apps.next_run] = next_fire(app.schedule, app.timezone, now)  # no catching up
    if (
        status is RuntimeStatus.FAILED
        and failures >= fatal_after
        and app.fatal_flag is not FatalFlag.FATAL
    ):
        fatal_reason = f"{failures} consecutive failures; last error: {error or 'unknown'}"
        values |= {
            Apps.fatal_flag: FatalFlag.FATAL,
            Apps.fatal_reason: fatal_reason[:ERROR_MAX],
            Apps.next_run: None,
        }
    return values, fatal_reason


def finish_run(
    runtime_id: str,
    app_id: str,
    status: RuntimeStatus,
    error: str | None,
    counts: Counts | None,
    *,
    fatal_after: int,
    resume_service: bool = False,
    progress: bool = True,
) -> Outcome | None:
    """Close a RUNNING runtime with ``status`` and update its app; None if it was closed
    already. ``counts`` None keeps the runtime's last reported record counts."""
    now = utcnow()
    with connected(), write_transaction():
        runtime = Runtime.get_or_none(Runtime.id == runtime_id)
        if runtime is None or runtime.status is not RuntimeStatus.RUNNING:
            return None
        if counts is None:  # closed from outside the run: keep the last reported counts
            total, solved, failed = (
                runtime.records_total,
                runtime.records_solved,
                runtime.records_failed,
            )
        else:
            total, solved, failed = final_counts(counts, status)
        Runtime.update(
            status=status,
            ended=now,
            heartbeat=now,
            records_total=total,
            records_solved=solved,
            records_failed=failed,
            error=error if status is RuntimeStatus.FAILED else None,
        ).where(Runtime.id == runtime_id, Runtime.status == RuntimeStatus.RUNNING).execute()
        app = locking(Apps.select().where(Apps.id == app_id)).first()
        fatal_reason = None
        old_status = None
        if app is not None and app.current_runtime == runtime_id:
            old_status = app.run_status
            values, fatal_reason = outcome_values(
                app,
                runtime_id,
                status,
                error,
                fatal_after=fatal_after,
                now=now,
                resume_service=resume_service,
            )
            if progress and counts is not None and counts.current is not None:
                values[Apps.progress_current] = counts.current
                values[Apps.progress_total] = counts.total
            Apps.update(values).where(Apps.id == app_id).execute()
    outcome = Outcome(
        runtime_id=runtime_id,
        app_id=app_id,
        status=status,
        error=error if status is RuntimeStatus.FAILED else None,
        records_total=total,
        records_solved=solved,
        records_failed=failed,
        duration_seconds=seconds_between(now, runtime.started),
        fatal=fatal_reason is not None,
    )
    if old_status is not None:
        new_status = RunStatus.FAILED if status is RuntimeStatus.FAILED else RunStatus.IDLE
        status_changed(app_id, old_status, new_status)
    publish(
        EventType.RUNTIME_COMPLETED,
        {
            "app": app_id,
            "runtime": runtime_id,
            "status": status.value,
            "records_total": total,
            "records_solved": solved,
            "records_failed": failed,
            "duration_seconds": outcome.duration_seconds,
        },
    )
    if fatal_reason is not None:
        publish(EventType.APP_FATAL, {"app": app_id, "reason": fatal_reason})
    try:  # the baseline and the verdicts at the run's end; never fails the run's close
        health.run_ended(app_id, runtime_id, status, outcome.duration_seconds, solved, now)
    except Exception:
        log.exception("could not judge the health of %s after run %s", app_id, runtime_id)
    return outcome
