"""One run of an app on its own thread: call the app, stop it when asked, force it when
it will not stop, and record its end (``runtimes.finish_run``) with a last log line.

``control.agent.runtimes`` claims the run in the database first and closes it after.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from control.agent import functionlog
from control.agent.context import AppContext
from control.agent.errors import Cancelled, ForcedStop
from control.agent.logwriter import run_logger
from control.agent.runtimes import Claim, Outcome, error_text, finish_run
from control.enums import RuntimeStatus

log = logging.getLogger(__name__)

RUNNER_LOGGER = "control.agent.runner"


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
