"""An app's run as operators read it: *Last run*, progress and ETA, from the CURRENT run.

One place for both the app list and the app detail (issue 13): while an app runs, its
``last_runtime`` still names the previous, finished run, so "last run" and the ETA must be
taken from ``current_runtime`` when there is one. The ETA divides what is left by the
current run's average throughput so far, measured from that run's start to the moment the
progress was reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import JOIN, ModelSelect, fn

from control.apps.models import Apps
from control.clock import utcnow
from control.enums import CommandFlag, FatalFlag, RunStatus, RuntimeStatus
from control.runtimes.models import Runtime

# The current run, joined beside the last finished one (``Runtime`` itself, attr "last").
Current = Runtime.alias("current_run")
# Sort key of the "Last run" column: the running run's start, else the last finished one's.
LAST_RUN_STARTED = fn.COALESCE(Current.started, Runtime.started)


def with_runs(*columns: Any) -> ModelSelect[Apps]:
    """Apps with their last finished run (``app.last``) and current run (``app.current``):
    every column of the app and of its last run, or only ``columns`` of them."""
    selected = columns or (Apps, Runtime)
    return (
        Apps.select(*selected, Current.id, Current.started, Current.status)
        .join(Runtime, JOIN.LEFT_OUTER, on=(Runtime.id == Apps.last_runtime), attr="last")
        .switch(Apps)
        .join(Current, JOIN.LEFT_OUTER, on=(Current.id == Apps.current_runtime), attr="current")
    )


# What a list item shows (``services.summary`` with :func:`run_state`): a page of the list
# reads these and no more (no settings JSON, description or error text per row).
LISTED = (
    *(Apps.id, Apps.app, Apps.group, Apps.parent, Apps.run_status, Apps.command_flag),
    *(Apps.fatal_flag, Apps.disabled, Apps.is_service, Apps.schedule, Apps.timezone),
    *(Apps.next_run, Apps.progress_current, Apps.progress_total, Apps.progress_updated),
    *(Runtime.id, Runtime.started, Runtime.ended, Runtime.status),
)


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a page
# makes 20 of these with 25 fields between them (read-only by convention).
@dataclass(slots=True)
class ListedRun:
    """A run joined to a list row: the columns the list reads of it (a current run has no
    ``ended``). Every field is None when the LEFT JOIN found no run."""

    id: str | None
    started: dt.datetime | None
    status: RuntimeStatus | None
    ended: dt.datetime | None = None


@dataclass(slots=True)
class ListedApp:
    """One row of the app list: the ``LISTED`` columns and the current run, read as a
    tuple. Building peewee models (a joined instance per run, a descriptor call per
    column) cost more CPU than the database took to answer the page."""

    last: ListedRun
    current: ListedRun
    id: str
    app: str
    group: str
    parent: str
    run_status: RunStatus
    command_flag: CommandFlag
    fatal_flag: FatalFlag
    disabled: bool
    is_service: bool
    schedule: str | None
    timezone: str
    next_run: dt.datetime | None
    progress_current: int | None
    progress_total: int | None
    progress_updated: dt.datetime | None

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> ListedApp:
        """The list row from a tuple of ``listed()``'s columns, in their order."""
        last_id, last_started, last_ended, last_status = row[-7:-3]
        current_id, current_started, current_status = row[-3:]
        return cls(
            ListedRun(last_id, last_started, last_status, last_ended),
            ListedRun(current_id, current_started, current_status),
            *row[:-7],
        )


def listed() -> ModelSelect[Apps]:
    """What a list item reads (``LISTED`` and the current run), in :meth:`ListedApp.of`'s
    order; read it with ``.tuples()``."""
    return with_runs(*LISTED)


AppRow = Apps | ListedApp
"""An app read as a model (the detail) or as a list row."""
RunRow = Runtime | ListedRun


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


def figures(current: int | None, total: int | None, seconds: float | None) -> dict[str, Any]:
    """Counts, percent done and seconds left (``eta_seconds``'s answer) as the API shows
    them: the one rule for the app list, the app detail and ``runtime.progress``."""
    return {
        "current": current,
        "total": total,
        "percent": round(100 * current / total, 1) if current is not None and total else None,
        "eta_seconds": round(seconds, 1) if seconds is not None else None,
    }


def progress(
    app: AppRow, current_started: dt.datetime | None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Live progress with percent done and the ETA of the current run.

    The ETA counts from when the progress was last reported (or now, if never), so
    ``eta`` is that moment plus ``eta_seconds``. Without a current run there is no ETA:
    the counters left by a finished run say nothing about time left.
    """
    current, total = app.progress_current, app.progress_total
    measured = app.progress_updated or now or utcnow()
    seconds = eta_seconds(current, total, current_started, measured)
    return {
        **figures(current, total, seconds),
        "updated": app.progress_updated,
        "eta": measured + dt.timedelta(seconds=round(seconds)) if seconds is not None else None,
    }


def _joined(app: AppRow, attr: str) -> RunRow | None:
    run = getattr(app, attr, None)
    return run if run is not None and run.id is not None else None


def current_run(app: AppRow) -> RunRow | None:
    """The joined current run (``with_runs``), or None."""
    return _joined(app, "current")


def last_runtime(app: AppRow) -> dict[str, Any] | None:
    """The last finished run, as the API has always shown it."""
    last = _joined(app, "last")
    if last is None:
        return None
    return {"runtime": last.id, "started": last.started, "ended": last.ended, "status": last.status}


def last_run(app: AppRow) -> dict[str, Any] | None:
    """The grid's *Last run*: the current run while there is one, else the last finished."""
    run = current_run(app)
    if run is not None:
        return {"runtime": run.id, "started": run.started, "ended": None, "status": run.status}
    return last_runtime(app)


def run_state(app: AppRow, now: dt.datetime | None = None) -> dict[str, Any]:
    """``last_run``, ``last_runtime`` and ``progress`` (with the ETA) of an app read
    through :func:`with_runs`."""
    run = current_run(app)
    return {
        "last_run": last_run(app),
        "last_runtime": last_runtime(app),
        "progress": progress(app, run.started if run is not None else None, now),
    }
