"""Reading runtimes: filtered pages newest first, and one run's detail with its functions.

List filters (:class:`RuntimeFilter`, combined with AND): ``app`` exact or a glob
(``*``/``?``, see :func:`control.logs.services.app_matches`), ``status``, and ``since``
(inclusive) / ``until`` (exclusive) on ``started``. Pages are keysets newest first on
``(started DESC, id DESC)``.

The detail adds the operators' notes on the run (:mod:`control.runtimes.notes`) and the
function summary: per ``function_name`` of the run's
``function_log`` rows, the calls, total / average / longest ``runtime_seconds`` and the
summed task size, solved and failed items, aggregated in SQL (GROUP BY).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from peewee import ModelSelect, fn

from control.clock import utcnow
from control.enums import RuntimeStatus
from control.errors import NotFound
from control.logs.services import app_matches
from control.performance.models import FunctionLog
from control.querying import keyset_page, tuples, where_given, within
from control.runtimes.models import Runtime
from control.runtimes.notes import notes_of

# newest first; the id breaks ties between runs started in the same instant
ORDER = ((Runtime.started, True), (Runtime.id, True))


@dataclass(frozen=True)
class RuntimeFilter:
    """The list filters; None means 'any'."""

    app: str | None = None
    status: RuntimeStatus | None = None
    since: dt.datetime | None = None  # inclusive, naive UTC
    until: dt.datetime | None = None  # exclusive, naive UTC


def _filtered(f: RuntimeFilter) -> ModelSelect[Runtime]:
    query = Runtime.select()
    if f.app is not None:
        query = query.where(app_matches(Runtime.app, f.app))
    query = where_given(query, {Runtime.status: f.status})
    return within(query, Runtime.started, f.since, f.until)


def duration_seconds(run: Runtime, now: dt.datetime | None = None) -> float | None:
    """``ended - started``; while RUNNING, ``now - started``; else (no end) None."""
    if run.ended is not None:
        end = run.ended
    elif run.status == RuntimeStatus.RUNNING:
        end = now or utcnow()
    else:
        return None
    return (end - run.started).total_seconds()


def summary(run: Runtime, now: dt.datetime | None = None) -> dict[str, Any]:
    """The list item of a runtime."""
    return {
        "id": run.id,
        "app": run.app_id,
        "started": run.started,
        "ended": run.ended,
        "status": run.status,
        "trigger": run.trigger,
        "duration_seconds": duration_seconds(run, now),
        "records": {
            "total": run.records_total,
            "solved": run.records_solved,
            "failed": run.records_failed,
        },
        "error": run.error,
        "host": run.host,
    }


def list_runtimes(
    f: RuntimeFilter, after: Sequence[Any] | None, limit: int
) -> tuple[list[dict[str, Any]], tuple[Any, ...] | None]:
    """One page of runs matching ``f``, newest first, after the row key ``after``."""
    rows, key = keyset_page(_filtered(f), ORDER, after, limit, key=("runtimes", f))
    now = utcnow()
    return [summary(r, now) for r in rows], key


def function_summary(runtime_id: str) -> list[dict[str, Any]]:
    """Per function of the run: calls and timings, aggregated in SQL; longest total first."""
    seconds = FunctionLog.runtime_seconds
    total = fn.SUM(seconds)
    query = tuples(
        FunctionLog.select(
            FunctionLog.function_name,
            fn.COUNT(FunctionLog.id),
            total,
            fn.AVG(seconds),
            fn.MAX(seconds),
            fn.SUM(FunctionLog.task_size),
            fn.SUM(FunctionLog.solved),
            fn.SUM(FunctionLog.failed),
        )
        .where(FunctionLog.runtime == runtime_id)
        .group_by(FunctionLog.function_name)
        .order_by(total.desc(), FunctionLog.function_name.asc())
    )
    # SUM of a BIGINT is NUMERIC on PostgreSQL (Decimal in Python): normalise the types.
    return [
        {
            "function_name": name,
            "calls": int(calls),
            "total_seconds": float(total_s),
            "avg_seconds": float(avg_s),
            "max_seconds": float(max_s),
            "task_size": int(task_size or 0),
            "solved": int(solved or 0),
            "failed": int(failed or 0),
        }
        for name, calls, total_s, avg_s, max_s, task_size, solved, failed in query
    ]


def get_runtime(runtime_id: str) -> dict[str, Any]:
    """The detail view of one run, or NotFound."""
    run = Runtime.get_or_none(Runtime.id == runtime_id)
    if run is None:
        raise NotFound(f"No runtime with id {runtime_id!r}.")
    return summary(run) | {
        "heartbeat": run.heartbeat,
        "functions": function_summary(run.id),
        "notes": notes_of(run.id),
    }
