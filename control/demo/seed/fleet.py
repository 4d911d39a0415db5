"""Seeding: simulate every planned app's history, then write it all in one transaction."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from dataclasses import dataclass
from typing import Any

from peewee import Model, chunked

from control.apps.models import Apps
from control.db.database import database, dialect
from control.demo.seed.history import History
from control.demo.seed.live import wire_for_agent
from control.demo.seed.plan import Plan, plan_apps
from control.demo.seed.runs import scheduled_runs
from control.demo.seed.services import service_runs
from control.demo.seed.times import seed_time
from control.enums import RuntimeStatus
from control.errors import Conflict, InvalidInput
from control.logs.models import Logs
from control.performance.models import FunctionLog
from control.pipelines.models import PipelineTask
from control.runtimes.models import Runtime

BATCH_ROWS = 500


@dataclass(frozen=True)
class SeedSummary:
    """How many rows ``seed_demo`` inserted into each table."""

    apps: int
    runtimes: int
    logs: int
    function_logs: int
    pipeline_tasks: int


def simulate(h: History, plan: Plan) -> None:
    """Generate the app's history and point its row at it."""
    runs = service_runs(h, plan) if plan.state == "service" else scheduled_runs(h, plan)
    row = plan.row
    finished = [r for r in runs if r.status is not RuntimeStatus.RUNNING]
    live = [r for r in runs if r.status is RuntimeStatus.RUNNING]
    streak = 0
    for run in reversed(finished):
        if run.status is not RuntimeStatus.FAILED:
            break
        streak += 1
    row["consecutive_failures"] = streak
    if plan.state == "fatal" and finished:
        row["fatal_reason"] = f"{streak} consecutive failures; last error: {plan.fatal_cause}"
    if finished:
        row["last_runtime"] = finished[-1].id
    if live:
        row["current_runtime"] = live[-1].id
    if plan.kind == "doc" and live:
        row["progress_total"] = live[-1].total
        row["progress_current"] = live[-1].solved + live[-1].failed
    row["created"] = min(row["created"], h.start - dt.timedelta(days=1))
    moments = [row["created"], row["updated"], row["command_updated"], row["progress_updated"]]
    moments += [r.ended for r in finished] + [r.start for r in live]
    row["updated"] = max(m for m in moments if m is not None)


def _batch_rows(columns: int) -> int:
    """Rows per INSERT that keep under the dialect's bound-parameter limit."""
    name = dialect()
    if name == "sqlite":
        limit = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999
    elif name == "postgresql":
        limit = 65_535
    else:
        limit = 2_100
    return max(1, min(BATCH_ROWS, (limit - 1) // columns))


def _insert(model: type[Model], rows: list[dict[str, Any]]) -> None:
    if rows:
        for batch in chunked(rows, _batch_rows(len(rows[0]))):
            model.insert_many(batch).execute()


def _refuse_if_seeded() -> None:
    if Apps.select().exists():
        raise Conflict("The apps table is not empty; the demo fleet only seeds an empty database.")


def seed_demo(
    *, apps: int = 72, days: int = 3, seed: int = 42, now: dt.datetime | None = None
) -> SeedSummary:
    """Fill an empty database with a realistic demo fleet and its last ``days`` of history."""
    if apps < 1:
        raise InvalidInput("apps must be at least 1", field="apps")
    if days < 1:
        raise InvalidInput("days must be at least 1", field="days")
    _refuse_if_seeded()
    moment = seed_time(now)
    rng = random.Random(seed)
    plans = plan_apps(rng, apps, moment)
    history = History(rng=rng, now=moment, start=moment - dt.timedelta(days=days))
    for plan in plans:
        simulate(history, plan)
    wire_for_agent(plans, moment)
    history.runtimes.sort(key=lambda r: r["started"])
    history.logs.sort(key=lambda r: r["timestamp"])
    history.function_logs.sort(key=lambda r: r["started"])
    history.tasks.sort(key=lambda r: r["created"])
    rows = [plan.row for plan in plans]
    with database.atomic():
        _refuse_if_seeded()  # again, inside the transaction that writes
        _insert(Apps, rows)
        _insert(Runtime, history.runtimes)
        _insert(Logs, history.logs)
        _insert(FunctionLog, history.function_logs)
        _insert(PipelineTask, history.tasks)
    return SeedSummary(
        apps=len(rows),
        runtimes=len(history.runtimes),
        logs=len(history.logs),
        function_logs=len(history.function_logs),
        pipeline_tasks=len(history.tasks),
    )
