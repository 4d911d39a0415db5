"""The history being generated: the runs, and the rows of every table they write.

One ``History`` carries the seed's random source, the period simulated and the rows
collected so far; the simulation of scheduled runs (``runs``), services (``services``)
and documents (``documents``) appends to it through the writers below.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from control.demo.seed.plan import Plan
from control.demo.seed.times import at, secs
from control.enums import LogLevel, RuntimeStatus

DEBUG = int(LogLevel.DEBUG)
INFO = int(LogLevel.INFO)
WARNING = int(LogLevel.WARNING)
ERROR = int(LogLevel.ERROR)
CRITICAL = int(LogLevel.CRITICAL)

RUNNER = "dc_agent.runner"  # the module of the agent's own lines


@dataclass
class Run:
    """One runtime being generated; offsets are seconds after ``start``."""

    app_id: str
    start: dt.datetime
    cutoff: dt.datetime  # when it ended, or its last progress report while running
    status: RuntimeStatus
    trigger: str
    host: str
    planned: float = 0.0  # how long it would have taken to finish
    error: str | None = None
    fatal_note: str | None = None
    total: int = 0
    solved: int = 0
    failed: int = 0

    @property
    def id(self) -> str:
        return f"{self.start:%Y%m%d_%H%M%S}_{self.app_id}"

    @property
    def ended(self) -> dt.datetime | None:
        return None if self.status is RuntimeStatus.RUNNING else self.cutoff

    @property
    def length(self) -> float:
        return secs(self.cutoff, self.start)


@dataclass
class History:
    """The rows generated so far, from one random source, over ``start`` to ``now``."""

    rng: random.Random
    now: dt.datetime
    start: dt.datetime
    runtimes: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    function_logs: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)

    def log(
        self,
        plan: Plan,
        run: Run,
        offset: float,
        level: int,
        module: str,
        function: str,
        message: str,
    ) -> None:
        """One log line ``offset`` seconds into the run, never after its end or last report."""
        self.logs.append(
            {
                "app": plan.app_id,
                "runtime": run.id,
                "level": level,
                "module": module,
                "function": function,
                "message": message,
                "timestamp": min(at(run.start, max(0.0, offset)), run.cutoff),
            }
        )

    def log_start(self, plan: Plan, run: Run) -> None:
        """The agent's first line of a run."""
        message = f"Starting {plan.app_id} on {run.host} ({run.trigger})"
        self.log(plan, run, 0.0, INFO, RUNNER, "run", message)

    def runtime_row(self, plan: Plan, run: Run) -> None:
        self.runtimes.append(
            {
                "id": run.id,
                "app": plan.app_id,
                "started": run.start,
                "ended": run.ended,
                "status": run.status,
                "trigger": run.trigger,
                "records_total": run.total,
                "records_solved": run.solved,
                "records_failed": run.failed,
                "error": run.error,
                "host": run.host,
                "heartbeat": run.cutoff,
            }
        )

    def timing(
        self,
        plan: Plan,
        run: Run,
        module: str,
        function: str,
        timed: tuple[float, float],
        counts: tuple[int, int, int],
    ) -> None:
        """One function log: ``timed`` is (start offset, seconds), ``counts`` is (task size,
        solved, failed)."""
        begin, seconds = timed
        task_size, solved, failed = counts
        self.function_logs.append(
            {
                "app": plan.app_id,
                "runtime": run.id,
                "function_name": function,
                "module": module,
                "started": at(run.start, begin),
                "runtime_seconds": round(seconds, 3),
                "task_size": task_size,
                "solved": solved,
                "failed": failed,
            }
        )
