"""Scheduled runs: when an app ran, how each run went, and what it wrote.

A run's phases (``kinds``) split its length; each phase writes the log lines of its kind's
body (``bodies``) and one function log; a document pipeline's runs also work through
document tasks (``documents``).
"""

from __future__ import annotations

import datetime as dt
import math

from control.agent.runner import duration_text
from control.demo.seed.bodies import BODIES, spread
from control.demo.seed.catalogue import AGENTS, DOCUMENT_TYPES
from control.demo.seed.documents import document_ref, run_tasks
from control.demo.seed.history import (
    CRITICAL,
    DEBUG,
    ERROR,
    INFO,
    RUNNER,
    WARNING,
    History,
    Run,
)
from control.demo.seed.kinds import KINDS, Kind
from control.demo.seed.plan import Plan
from control.demo.seed.times import at, fires, secs
from control.enums import RuntimeStatus


def scheduled_runs(h: History, plan: Plan) -> list[Run]:
    """The app's runs over the period: one per schedule fire that had room, a retry by hand
    now and then, a FATAL app's failing streak, and the run in progress now."""
    rng, row = h.rng, plan.row
    fired = fires(row["schedule"], row["timezone"], h.start, h.now)
    limit = h.now - dt.timedelta(seconds=5)
    live: Run | None = None
    if plan.state == "disabled":
        limit = h.now - (h.now - h.start) * rng.uniform(0.1, 0.6)
        limit = row["updated"] = limit.replace(microsecond=0)  # when it was disabled
    elif plan.state == "running":
        live = _live_run(h, plan, fired)
        limit = live.start
    bounds = [min(b, limit) for b in [*fired[1:], limit]]
    # a fire too close to the next one (or to now) has no room for a run
    keep = [i for i, fire in enumerate(fired) if secs(bounds[i], fire) >= 30]
    fired, bounds = [fired[i] for i in keep], [bounds[i] for i in keep]

    streak = 0
    if plan.state == "fatal" and fired:
        streak = min(plan.row["consecutive_failures"], len(fired))
        low, high = max(streak - 1, int(len(fired) * 0.55)), len(fired) - 1
        last = rng.randint(min(low, high), high)
        fired, bounds = fired[: last + 1], bounds[: last + 1]

    runs: list[Run] = []
    failures = 0
    for i, fire in enumerate(fired):
        start = fire + dt.timedelta(seconds=rng.randint(0, 12))
        error = None
        if i >= len(fired) - streak:
            status, error = RuntimeStatus.FAILED, plan.fatal_cause
        elif plan.state == "fatal" and i == len(fired) - streak - 1:
            status = RuntimeStatus.COMPLETED
        else:
            draw = rng.random()
            status = (
                RuntimeStatus.FAILED
                if draw < plan.flakiness and failures < 2
                else RuntimeStatus.STOPPED
                if draw < plan.flakiness + 0.015
                else RuntimeStatus.COMPLETED
            )
        if plan.state == "disabled" and i == len(fired) - 1 and rng.random() < 0.5:
            status = RuntimeStatus.STOPPED
        run = _finished_run(h, plan, start, bounds[i], status, "schedule", error)
        if run is None:
            continue
        if streak and i == len(fired) - 1:
            run.fatal_note = (
                f"{plan.app_id} set FATAL after {streak} consecutive failures: {plan.fatal_cause}"
            )
        runs.append(_emit(h, plan, run))
        failures = failures + 1 if status is RuntimeStatus.FAILED else 0
        if failures and i < len(fired) - streak and rng.random() < 0.35:
            # an operator retries the failed run by hand before the next schedule
            retry_at = run.cutoff.replace(microsecond=0) + dt.timedelta(
                seconds=rng.randint(120, 1800)
            )
            retry = _finished_run(h, plan, retry_at, bounds[i], RuntimeStatus.COMPLETED, "command")
            if retry is not None:
                runs.append(_emit(h, plan, retry))
                failures = 0
    if live is not None:
        runs.append(_emit(h, plan, live))
    return runs


def _live_run(h: History, plan: Plan, fired: list[dt.datetime]) -> Run:
    """The run in progress now, started by the last schedule or by a command."""
    rng, row = h.rng, plan.row
    last = fired[-1] if fired else None
    longest = max(900.0, min(7200.0, 6 * plan.typical_seconds))
    if last is not None and 90 <= secs(h.now, last) <= longest:
        start, trigger = last + dt.timedelta(seconds=rng.randint(0, 12)), "schedule"
    else:
        ago = max(90, round(plan.typical_seconds * rng.uniform(0.2, 0.8)))
        start, trigger = h.now - dt.timedelta(seconds=ago), "command"
    return Run(
        app_id=plan.app_id,
        start=start,
        cutoff=row["progress_updated"],
        status=RuntimeStatus.RUNNING,
        trigger=trigger,
        host=plan.host,
        total=row["progress_total"],
        solved=row["progress_current"],
    )


def _finished_run(
    h: History,
    plan: Plan,
    start: dt.datetime,
    bound: dt.datetime,
    status: RuntimeStatus,
    trigger: str,
    error: str | None = None,
) -> Run | None:
    """A run from ``start`` that ends before ``bound``, or None when it cannot fit."""
    rng = h.rng
    room = secs(bound, start)
    if room < 5:
        return None
    planned = plan.typical_seconds * rng.uniform(0.6, 1.5)
    if planned > room * 0.9:
        planned = room * rng.uniform(0.5, 0.9)
    length = planned
    if status is RuntimeStatus.FAILED:  # most failures hit while records are processed
        length = max(1.0, planned * rng.uniform(0.3, 0.98))
    elif status is RuntimeStatus.STOPPED:
        length = max(1.0, planned * rng.uniform(0.1, 0.9))
    if status is RuntimeStatus.FAILED and error is None:
        error = _error(h, plan)
    host = plan.host if rng.random() > 0.1 else rng.choice(AGENTS)
    return Run(
        app_id=plan.app_id,
        start=start,
        cutoff=at(start, length),
        status=status,
        trigger=trigger,
        host=host,
        planned=planned,
        error=error,
    )


def _error(h: History, plan: Plan) -> str:
    rng = h.rng
    values = {
        **plan.ctx,
        "page": rng.randint(2, 80),
        "pct": round(rng.uniform(5.2, 14.0), 1),
        "batch": rng.choice((50_000, 100_000, 200_000)),
        "ref": document_ref(rng, plan, rng.choice(plan.doc_types or DOCUMENT_TYPES)),
    }
    return rng.choice(KINDS[plan.kind].errors).format(**values)


# ---- one scheduled run: counts, logs, function logs and document tasks


def _phases(h: History, kind: Kind, run: Run) -> list[tuple[str, float, float]]:
    """(function, start, length) of each phase, in seconds after the run's start."""
    rng, cut = h.rng, run.length
    weights = [share * rng.uniform(0.7, 1.3) for _, share in kind.phases]
    weights = [w / sum(weights) for w in weights]
    setup = min(2.0, cut * 0.02)
    if run.status is RuntimeStatus.COMPLETED:
        run.planned = cut
    elif run.status is RuntimeStatus.RUNNING:
        # the last progress report falls inside the main phase, at the reported share
        reached = sum(weights[: kind.main]) + weights[kind.main] * run.solved / run.total
        run.planned = setup + (cut - setup) / reached
    windows: list[tuple[str, float, float]] = []
    offset, span = setup, run.planned - setup
    for (name, _), weight in zip(kind.phases, weights, strict=True):
        windows.append((name, offset, span * weight))
        offset += span * weight
    return windows


def _counts(h: History, plan: Plan, run: Run, kind: Kind, main: tuple[float, float]) -> int:
    """Fill in the counts of a run that is not a document pipeline's; how many records
    would have failed over the whole run."""
    rng, cut = h.rng, run.length
    main_start, main_length = main
    if run.status is RuntimeStatus.RUNNING:
        done = run.solved
    else:
        run.total = max(1, round(plan.volume * rng.uniform(0.7, 1.3)))
        progress = (cut - main_start) / main_length
        if run.status is RuntimeStatus.COMPLETED:
            progress = 1.0
        done = round(run.total * min(1.0, max(0.0, progress)))
    if run.status is RuntimeStatus.FAILED:
        rate = rng.uniform(0.02, 0.2)
    else:
        rate = 0.0 if rng.random() < 0.35 else rng.uniform(0, 0.02)
    run.failed = round(done * rate)
    run.solved = done - run.failed
    return round(run.total * rate)


def _emit(h: History, plan: Plan, run: Run) -> Run:
    """Counts, log lines, function timings (and documents) of one scheduled run."""
    rng, kind, cut = h.rng, KINDS[plan.kind], run.length
    windows = _phases(h, kind, run)
    refs: list[tuple[str, str]] = []
    if plan.kind == "doc":
        refs = run_tasks(h, plan, run, windows[1][1], windows[2][1] + windows[2][2])
        failed = run.failed
    else:
        failed = _counts(h, plan, run, kind, windows[kind.main][1:])
    total = run.total
    h.runtime_row(plan, run)

    module = f"collectors.{plan.spec.group}.{plan.spec.app}"

    def log(offset: float, level: int, where: str, function: str, message: str) -> None:
        h.log(plan, run, offset, level, where, function, message)

    h.log_start(plan, run)
    settings = plan.row["settings"]
    shown = ", ".join(f"{k}={settings[k]}" for k in ("batch_size", "retries") if k in settings)
    if rng.random() < 0.3:
        log(min(0.05, cut / 2), DEBUG, RUNNER, "load_settings", f"Settings: {shown}")
    # a failing or stopped run logs nothing more once its last lines are written
    last = cut if run.status is RuntimeStatus.COMPLETED else cut - 0.5
    body = BODIES[plan.kind](rng, plan, total, failed, refs)
    for (name, begin, length), lines in zip(windows, body, strict=True):
        times = spread(rng, begin, length, len(lines))
        for offset, (level, message) in zip(times, lines, strict=True):
            if offset < last:
                log(offset, level, module, name, message)
        _function_log(h, plan, run, module, (name, begin, length), total, failed)

    took = duration_text(cut)
    current = next((w[0] for w in windows if w[1] + w[2] > cut), windows[-1][0])
    if run.status is RuntimeStatus.COMPLETED:
        counts = f"{run.total} records ({run.solved} solved, {run.failed} failed)"
        log(cut, INFO, RUNNER, "run", f"Run completed in {took}: {counts}")
    elif run.status is RuntimeStatus.FAILED:
        error = run.error or "RuntimeError: unknown"
        log(max(0.1, cut - 0.2), ERROR, module, current, error)
        log(cut, ERROR, RUNNER, "run", f"Run failed after {took}: {error.split(':')[0]}")
        if run.fatal_note:
            log(cut, CRITICAL, RUNNER, "run", run.fatal_note)
    elif run.status is RuntimeStatus.STOPPED:
        request = "Stop requested by operator; finishing the current batch"
        log(max(0.1, cut - rng.uniform(1, 5)), WARNING, RUNNER, "handle_command", request)
        log(cut, INFO, RUNNER, "run", f"Run stopped after {took}: {run.solved} records saved")
    else:
        done = run.solved + run.failed
        percent = 100 * done // max(1, run.total)
        log(cut, INFO, module, current, f"Progress {done}/{run.total} ({percent}%)")
    return run


def _function_log(
    h: History,
    plan: Plan,
    run: Run,
    module: str,
    phase: tuple[str, float, float],
    total: int,
    failed: int,
) -> None:
    """One timed call, if the phase finished (or was cut short by a failure or stop)."""
    rng, cut = h.rng, run.length
    name, begin, length = phase
    if begin >= cut:
        return
    share = 1.0
    if begin + length > cut + 1e-6:
        if run.status is RuntimeStatus.RUNNING:
            return  # still in progress: not timed yet
        share = (cut - begin) / length
        length = cut - begin
    settings = plan.row["settings"]
    if name == "fetch_listing":
        task = max(1, math.ceil(total / settings.get("page_size", 50)))
        bad = 1 if task > 3 and rng.random() < 0.1 else 0
    elif name in ("process_records", "parse_documents", "check_sources"):
        task, bad = total, failed
    elif name == "store_results":
        task, bad = total - failed, 0
    elif name in ("fetch_details", "evaluate_thresholds"):
        task = total
        bad = min(task, round(task * rng.uniform(0, 0.01)))
    else:
        task, bad = total, 0
    done = round(task * share)
    bad = min(bad, done)
    h.timing(plan, run, module, name, (begin, max(0.001, length)), (task, done - bad, bad))
