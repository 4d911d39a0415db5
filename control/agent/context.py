"""``AppContext``: everything an app gets from the agent for one run.

An app is a callable taking the context::

    def run(ctx: AppContext) -> None:
        items = load(ctx.settings["source"])
        ctx.progress(0, len(items))
        for done, item in enumerate(items, 1):
            ctx.cancel.raise_if_cancelled()      # STOP ends the run here, as STOPPED
            ...
            ctx.tally(solved=1)
            ctx.progress(done)
            ctx.log.info("stored %s", item)

``progress`` and ``tally`` only set numbers in memory; the agent writes them (the app's
``progress_*`` columns, the runtime's record counts) about twice a second and at the end,
so calling them for every item costs nothing.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from control.agent.cancel import CancelToken
from control.agent.functionlog import Recorder, bound_function_log
from control.agent.logwriter import LogBatcher, RunLogHandler, run_logger
from control.agent.pipeline import STAGES, Pipeline


@dataclass(frozen=True)
class Counts:
    """A snapshot of a run's numbers."""

    current: int | None
    total: int | None
    solved: int
    failed: int
    version: int

    @property
    def records_total(self) -> int:
        return max(self.total or 0, self.solved + self.failed)


class AppContext:
    """One run's context: ``log``, ``function_log``, ``progress``, ``tally``, ``pipeline``,
    ``cancel``, ``settings``, ``app_id`` and ``runtime_id``."""

    def __init__(
        self,
        *,
        app_id: str,
        runtime_id: str | None,
        settings: Mapping[str, Any] | None,
        batcher: LogBatcher,
        logger_name: str = "app",
        cancel: CancelToken | None = None,
        stages: tuple[str, ...] = STAGES,
    ) -> None:
        self.app_id = app_id
        self.runtime_id = runtime_id
        self.settings: dict[str, Any] = copy.deepcopy(dict(settings or {}))
        self.cancel = cancel or CancelToken()
        self._handler = RunLogHandler(batcher, app_id, runtime_id)
        self.log: logging.Logger = run_logger(logger_name, self._handler)
        self.recorder = Recorder(app_id, runtime_id)
        self.function_log = bound_function_log(self.recorder)
        self.pipeline = Pipeline(app_id, runtime_id, stages)
        self._lock = threading.Lock()
        self._current: int | None = None
        self._total: int | None = None
        self._solved = 0
        self._failed = 0
        self._version = 0

    # -- numbers -----------------------------------------------------------------------

    def progress(self, current: int, total: int | None = None) -> None:
        """Report ``current`` of ``total`` items done (``total`` kept when omitted)."""
        with self._lock:
            self._current = max(0, int(current))
            if total is not None:
                self._total = max(0, int(total))
            self._version += 1

    def tally(self, solved: int = 0, failed: int = 0) -> None:
        """Add to the run's solved and failed record counts."""
        with self._lock:
            self._solved += int(solved)
            self._failed += int(failed)
            self._version += 1

    def counts(self) -> Counts:
        """The numbers so far (the agent reads them to write progress and heartbeats)."""
        with self._lock:
            return Counts(self._current, self._total, self._solved, self._failed, self._version)

    def apply_result(self, result: Any) -> None:
        """Take ``total``/``solved``/``failed`` from a mapping the app returned."""
        if not isinstance(result, Mapping):
            return
        with self._lock:
            if "solved" in result:
                self._solved = int(result["solved"])
            if "failed" in result:
                self._failed = int(result["failed"])
            if "total" in result:
                self._total = int(result["total"])
            self._version += 1

    # -- helpers -----------------------------------------------------------------------

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless cancelled first; True if cancelled."""
        return self.cancel.wait(seconds)

    def mute(self) -> None:
        """Drop whatever the run writes from now on (its thread was abandoned)."""
        self._handler.muted = True
        self.recorder.muted = True
        self.pipeline.muted = True
