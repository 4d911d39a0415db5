"""What the agent writes about its runs between their start and their end: progress,
heartbeats (of the runs, and of the agent itself: ``control.agents``) and the app's
``run_status`` (SCHEDULED while queued, STOPPING, back to IDLE after a RESET).

Each status write only changes a row still in the expected state, and publishes
``app.status_changed`` for the rows it did change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from control.agent.context import Counts
from control.agent.runner import Run
from control.agent.runtimes import status_changed
from control.agents.services import Beat, beat
from control.apps.models import Apps
from control.apps.schedule import next_fire
from control.clock import utcnow
from control.db.database import connected, write_transaction
from control.enums import RunStatus, RuntimeStatus
from control.runtimes.models import Runtime


def write_progress(moved: Iterable[tuple[Run, Counts]]) -> dt.datetime:
    """The progress of the runs that moved, on their apps (while still their run);
    returns the time it was stamped with."""
    now = utcnow()
    with connected(), write_transaction():
        for run, counts in moved:
            Apps.update(
                {
                    Apps.progress_current: counts.current,
                    Apps.progress_total: counts.total,
                    Apps.progress_updated: now,
                }
            ).where(Apps.id == run.app_id, Apps.current_runtime == run.runtime_id).execute()
    return now


def write_heartbeats(runs: Sequence[Run]) -> None:
    """Heart-beat the RUNNING runtimes of ``runs`` with their record counts so far."""
    if not runs:
        return
    now = utcnow()
    with connected(), write_transaction():
        for run in runs:
            counts = run.ctx.counts()
            Runtime.update(
                heartbeat=now,
                records_total=counts.records_total,
                records_solved=counts.solved,
                records_failed=counts.failed,
            ).where(Runtime.id == run.runtime_id, Runtime.status == RuntimeStatus.RUNNING).execute()


def write_agent_beat(report: Beat) -> None:
    """The agent's own heartbeat row (``control.agents``): slots, runs, apps waiting."""
    beat(report)


def set_status(
    app_ids: Iterable[str], status: RunStatus, *, only_from: Sequence[RunStatus]
) -> None:
    """``status`` on each app whose ``run_status`` is one of ``only_from``."""
    changed = []
    with connected():
        for app_id in app_ids:
            if (
                Apps.update(run_status=status, updated=utcnow())
                .where(Apps.id == app_id, Apps.run_status.in_(list(only_from)))
                .execute()
            ):
                changed.append(app_id)
    for app_id in changed:
        status_changed(app_id, only_from[0], status)


def mark_stopping(runs: Iterable[Run]) -> None:
    """STOPPING on the apps of ``runs`` still RUNNING that run."""
    changed = []
    with connected():
        for run in runs:
            if (
                Apps.update(run_status=RunStatus.STOPPING, updated=utcnow())
                .where(
                    Apps.id == run.app_id,
                    Apps.current_runtime == run.runtime_id,
                    Apps.run_status == RunStatus.RUNNING,
                )
                .execute()
            ):
                changed.append(run.app_id)
    for app_id in changed:
        status_changed(app_id, RunStatus.RUNNING, RunStatus.STOPPING)


def reset_status(app: Apps) -> None:
    """After RESET (the API cleared the fatal flag): a FAILED app back to IDLE, and its
    next run from the schedule (a service: now)."""
    now = utcnow()
    values: dict[Any, Any] = {Apps.updated: now}
    if app.run_status is RunStatus.FAILED:
        values[Apps.run_status] = RunStatus.IDLE
    if app.is_service:
        values[Apps.next_run] = now
    elif app.schedule:
        values[Apps.next_run] = next_fire(app.schedule, app.timezone, now)
    with connected():
        Apps.update(values).where(Apps.id == app.id).execute()
    if Apps.run_status in values:
        status_changed(app.id, app.run_status, RunStatus.IDLE)
