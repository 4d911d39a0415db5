"""The verdicts on an app's health, each with its evidence: pure functions of a snapshot.

==============  ==========================================================================
``slow``        the current run has been going longer than duration p95 x factor (raised
                while it runs), or the last finished run took longer
``stalled``     RUNNING, its heartbeat live, but no progress for ``stalled_seconds``
``missed``      ``next_run`` passed by more than the grace and no run started (the app
                enabled and not fatal)
``low_output``  the last completed run's records below records p50 x factor, or zero
                where the p50 is not
``failing``     consecutive failures, still below the fatal threshold
==============  ==========================================================================

``slow`` and ``low_output`` need a baseline of at least ``min_runs`` completed runs.
Per app, the ``health`` object of its settings overrides the factors and durations
(:data:`OVERRIDES`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from control.health.baselines import Baseline

SLOW = "slow"
STALLED = "stalled"
MISSED = "missed"
LOW_OUTPUT = "low_output"
FAILING = "failing"
VERDICTS = (SLOW, STALLED, MISSED, LOW_OUTPUT, FAILING)

# a run this close to the p95 is never slow, whatever the factor (runs of a second or so)
MIN_EXCESS_SECONDS = 1.0

Evidence = dict[str, Any]


@dataclass(frozen=True)
class Thresholds:
    """The settings the verdicts read (``DC_HEALTH_*``); per app, see :meth:`for_app`."""

    slow_factor: float = 1.5
    low_output_factor: float = 0.5
    stalled_seconds: float = 900.0
    missed_grace_seconds: float = 600.0
    min_runs: int = 3
    heartbeat_live_seconds: float = 60.0
    fatal_after: int = 3

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        return cls(
            slow_factor=settings.health_slow_factor,
            low_output_factor=settings.health_low_output_factor,
            stalled_seconds=settings.health_stalled_seconds,
            missed_grace_seconds=settings.health_missed_grace_seconds,
            min_runs=settings.health_min_runs,
            heartbeat_live_seconds=settings.agent_stale_after_seconds,
            fatal_after=settings.agent_fatal_after,
        )

    def for_app(self, app_settings: Mapping[str, Any] | None) -> Thresholds:
        """These thresholds with the app's ``settings["health"]`` overrides (numbers
        only; anything else is ignored)."""
        raw = (app_settings or {}).get("health")
        if not isinstance(raw, Mapping):
            return self
        changes: dict[str, Any] = {}
        for key in OVERRIDES:
            value = raw.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                changes[key] = int(value) if key == "min_runs" else float(value)
        return dataclasses.replace(self, **changes) if changes else self


OVERRIDES = (
    "slow_factor",
    "low_output_factor",
    "stalled_seconds",
    "missed_grace_seconds",
    "min_runs",
)
"""The keys of an app's ``settings["health"]`` that override the fleet's settings."""


@dataclass(frozen=True)
class CurrentRun:
    runtime_id: str
    started: dt.datetime
    heartbeat: dt.datetime | None


@dataclass(frozen=True)
class AppSnapshot:
    """What the verdicts read of one app."""

    app_id: str
    disabled: bool
    fatal: bool
    next_run: dt.datetime | None
    consecutive_failures: int
    progress_updated: dt.datetime | None
    progress_current: int | None
    current: CurrentRun | None
    baseline: Baseline | None
    last_run: Mapping[str, Any] | None
    settings: Mapping[str, Any] | None


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def slow_threshold(baseline: Baseline | None, t: Thresholds) -> float | None:
    """Seconds beyond which a run is slow; None without a baseline of ``min_runs``."""
    if baseline is None or baseline.runs < max(1, t.min_runs) or baseline.duration_p95 is None:
        return None
    return max(baseline.duration_p95 * t.slow_factor, baseline.duration_p95 + MIN_EXCESS_SECONDS)


def judge_slow(
    seconds: float, baseline: Baseline | None, t: Thresholds, *, running: bool
) -> Evidence | None:
    """The evidence that a run of ``seconds`` is slow, or None."""
    limit = slow_threshold(baseline, t)
    if limit is None or baseline is None or seconds <= limit:
        return None
    return {
        "seconds": round(seconds, 3),
        "threshold_seconds": round(limit, 3),
        "duration_p95": baseline.duration_p95,
        "factor": t.slow_factor,
        "running": running,
    }


def judge_low_output(records: int, baseline: Baseline | None, t: Thresholds) -> Evidence | None:
    """The evidence that a completed run's ``records`` are too few, or None."""
    if baseline is None or baseline.runs < max(1, t.min_runs) or baseline.records_p50 is None:
        return None
    p50 = baseline.records_p50
    limit = p50 * t.low_output_factor
    if records < limit or (records == 0 and p50 > 0):
        return {
            "records": records,
            "threshold_records": round(limit, 3),
            "records_p50": p50,
            "factor": t.low_output_factor,
        }
    return None


def judge_finished(
    status: str, seconds: float, records: int, baseline: Baseline | None, t: Thresholds
) -> dict[str, Evidence | None]:
    """``slow`` and ``low_output`` of a run that just ended, against the baseline of the
    runs before it (``low_output`` only for a COMPLETED run)."""
    return {
        SLOW: judge_slow(seconds, baseline, t, running=False),
        LOW_OUTPUT: judge_low_output(records, baseline, t) if status == "COMPLETED" else None,
    }


def evaluate(app: AppSnapshot, now: dt.datetime, base: Thresholds) -> dict[str, Evidence]:
    """Every verdict that holds on ``app`` now, with its evidence."""
    t = base.for_app(app.settings)
    found: dict[str, Evidence] = {}
    last = dict(app.last_run or {})
    run = app.current
    if run is not None:
        elapsed = (now - run.started).total_seconds()
        slow = judge_slow(elapsed, app.baseline, t, running=True)
        if slow is not None:
            found[SLOW] = slow | {"runtime": run.runtime_id, "started": _iso(run.started)}
        live = run.heartbeat is not None and (
            (now - run.heartbeat).total_seconds() <= t.heartbeat_live_seconds
        )
        since = app.progress_updated or run.started
        quiet = (now - since).total_seconds()
        if live and quiet > t.stalled_seconds:
            found[STALLED] = {
                "runtime": run.runtime_id,
                "last_progress": _iso(since),
                "progress_current": app.progress_current,
                "heartbeat": _iso(run.heartbeat),
                "quiet_seconds": round(quiet, 3),
                "threshold_seconds": t.stalled_seconds,
            }
    for name in (SLOW, LOW_OUTPUT):
        evidence = last.get(name)
        if name not in found and isinstance(evidence, Mapping):
            found[name] = dict(evidence) | {"runtime": last.get("runtime")}
    if (
        run is None
        and not app.disabled
        and not app.fatal
        and app.next_run is not None
        and (now - app.next_run).total_seconds() > t.missed_grace_seconds
    ):
        found[MISSED] = {
            "next_run": _iso(app.next_run),
            "late_seconds": round((now - app.next_run).total_seconds(), 3),
            "grace_seconds": t.missed_grace_seconds,
        }
    if not app.fatal and 0 < app.consecutive_failures < t.fatal_after:
        found[FAILING] = {
            "consecutive_failures": app.consecutive_failures,
            "fatal_after": t.fatal_after,
            "runtime": last.get("runtime"),
        }
    return found
