"""One run of an app: claim it in the database, call the app on a thread, record the end.

``claim_run`` creates the ``Runtime`` (id ``YYYYMMDD_HHMMSS_<app id>``) and marks the app
RUNNING in one transaction, unless the app is disabled, fatal or already running (on
this agent or another): that check under the app's row lock is what keeps one run per
app at a time. ``finish_run`` writes the outcome: the runtime's status, end and record
counts; the app's ``run_status``, ``last_runtime``, ``consecutive_failures`` (FATAL after
``fatal_after`` failures in a row) and ``next_run`` (the schedule's next fire after now;
a failed service is restarted after a short delay). It only closes a runtime that is
still RUNNING, so a run closed by the stale-runtime detection, or force-stopped after the
grace period, is never reopened by a late finish.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from control.agent import functionlog
from control.agent.context import AppContext, Counts
from control.agent.errors import Cancelled, ForcedStop
from control.agent.logwriter import run_logger
from control.commands.services import locking, next_fire
from control.db.database import connected, write_transaction
from control.db.models import Apps, Runtime, utcnow
from control.enums import FatalFlag, RunStatus, RuntimeStatus
from control.events import EventType, publish

log = logging.getLogger(__name__)

RUNNER_LOGGER = "control.agent.runner"
SERVICE_RESTART_SECONDS = 15
SERVICE_RESTART_MAX_SECONDS = 300
ERROR_MAX = 4000


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
    return outcome


def duration_text(seconds: float) -> str:
    """A run's length as its log lines say it: ``42.5s``, ``1m07s``, ``2h05m``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def describe(outcome: Outcome) -> tuple[int, str]:
    """The level and text of the run's last log line."""
    took = duration_text(outcome.duration_seconds)
    counts = (
        f"{outcome.records_total} records ({outcome.records_solved} solved, "
        f"{outcome.records_failed} failed)"
    )
    if outcome.status is RuntimeStatus.COMPLETED:
        return logging.INFO, f"Run completed in {took}: {counts}"
    if outcome.status is RuntimeStatus.STOPPED:
        return logging.INFO, f"Run stopped after {took}: {counts}"
    return logging.ERROR, f"Run failed after {took}: {outcome.error}"


class Run:
    """One claimed run on its own (daemon) thread.

    ``request_stop`` sets the cancel token and a deadline; the agent calls ``force`` once
    the deadline has passed: the runtime is closed as STOPPED at once, ``ForcedStop`` is
    raised in the thread at its next Python instruction (a thread blocked in C code only
    sees it when the call returns), and whatever the abandoned thread writes after that
    is dropped.
    """

    def __init__(
        self,
        claim: Claim,
        target: Callable[[AppContext], Any] | None,
        ctx: AppContext,
        *,
        host: str,
        fatal_after: int,
        on_done: Callable[[Run], None],
        load_error: str | None = None,
    ) -> None:
        self.claim = claim
        self.target = target
        self.ctx = ctx
        self.host = host
        self.fatal_after = fatal_after
        self.on_done = on_done
        self.load_error = load_error
        self.deadline: float | None = None
        self.stop_reason: str | None = None
        self.resume_service = False
        self.outcome: Outcome | None = None
        self.done = threading.Event()
        self._finish_lock = threading.Lock()
        self._finished = False
        self.thread = threading.Thread(
            target=self._main, name=f"dc-app-{claim.app_id}"[:60], daemon=True
        )
        # the run's own lines ("Starting …", "Run completed …") go to the same Logs rows
        self.runner_log = run_logger(RUNNER_LOGGER, ctx._handler)

    @property
    def app_id(self) -> str:
        return self.claim.app_id

    @property
    def runtime_id(self) -> str:
        return self.claim.runtime_id

    @property
    def is_service(self) -> bool:
        return self.claim.is_service

    def start(self) -> None:
        self.thread.start()

    def request_stop(self, reason: str, grace: float) -> None:
        """Cancel cooperatively; force after ``grace`` seconds (the agent checks)."""
        self.ctx.cancel.cancel(reason)
        if self.stop_reason is None:
            self.stop_reason = reason
            self.deadline = time.monotonic() + grace
            self.runner_log.warning("Stop requested (%s); waiting up to %ss", reason, grace)

    def overdue(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline and not self._finished

    def _main(self) -> None:
        # ForcedStop landing after the app returned: the agent has closed the run already
        with contextlib.suppress(ForcedStop):
            self._run_app()

    def _run_app(self) -> None:
        functionlog.set_recorder(self.ctx.recorder)
        claim = self.claim
        self.runner_log.info("Starting %s on %s (%s)", claim.app_id, self.host, claim.trigger)
        status, error = RuntimeStatus.COMPLETED, None
        try:
            if self.target is None:
                raise LookupError(self.load_error or "no callable")
            result = self.target(self.ctx)
            self.ctx.apply_result(result)
            if self.ctx.cancel.cancelled:
                status = RuntimeStatus.STOPPED
        except (Cancelled, ForcedStop):
            status = RuntimeStatus.STOPPED
        except BaseException as exc:  # noqa: BLE001 - any failure of the app fails the run
            status, error = RuntimeStatus.FAILED, error_text(exc)
            self.ctx.log.error("%s\n%s", error, "".join(traceback.format_exception(exc)).rstrip())
        finally:
            functionlog.set_recorder(None)
        if self._take_finish():
            self._record(status, error, forced=False)

    def _take_finish(self) -> bool:
        with self._finish_lock:
            if self._finished:
                return False
            self._finished = True
            return True

    def finish(self, status: RuntimeStatus, error: str | None) -> None:
        """Record the end now unless it is recorded already (the agent's shutdown path)."""
        if self._take_finish():
            self._record(status, error, forced=False)

    def force(self) -> None:
        """Close the run as STOPPED now and raise ``ForcedStop`` in its thread."""
        with self._finish_lock:
            if self._finished:
                return
            self._finished = True
            ident = self.thread.ident
            if ident is not None and self.thread.is_alive():
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(ident), ctypes.py_object(ForcedStop)
                )
        self._record(RuntimeStatus.STOPPED, None, forced=True)

    def _record(self, status: RuntimeStatus, error: str | None, *, forced: bool) -> None:
        if forced:
            self.runner_log.warning(
                "Stop grace period over: the run is closed as stopped and its thread abandoned"
            )
        try:
            self.outcome = finish_run(
                self.runtime_id,
                self.app_id,
                status,
                error,
                self.ctx.counts(),
                fatal_after=self.fatal_after,
                resume_service=self.resume_service,
            )
        except Exception:
            log.exception("could not record the end of %s", self.runtime_id)
        if self.outcome is not None:
            level, text = describe(self.outcome)
            self.runner_log.log(level, text)
            if self.outcome.fatal:
                self.runner_log.critical(
                    "%s set FATAL after %s consecutive failures", self.app_id, self.fatal_after
                )
        if forced:
            self.ctx.mute()  # whatever the abandoned thread writes from now on is dropped
        self.done.set()
        self.on_done(self)
