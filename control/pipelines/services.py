"""Reading pipeline tasks: filtered pages, the detail view, throughput and errors.

Every figure is aggregated in SQL (GROUP BY document type, window functions for the
latest errors of each type); Python only rounds and shapes the rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import ColumnBase, ModelSelect, fn

from control.clock import utcnow
from control.enums import PipelineStatus
from control.errors import NotFound
from control.pipelines import rollup
from control.pipelines.models import PipelineTask
from control.querying import (
    PERIODS,
    Page,
    SortKey,
    apply_sort,
    paginate,
    python_value,
    tuples,
    where_given,
)

SORTABLE: dict[str, ColumnBase] = {
    "created": PipelineTask.created,
    "updated": PipelineTask.updated,
    "duration_seconds": PipelineTask.duration_seconds,
    "retries": PipelineTask.retries,
}
DEFAULT_SORT = [SortKey("created", descending=True)]


def _failed_at() -> ColumnBase:
    """When a failed task failed: its end, else its last update."""
    return fn.COALESCE(PipelineTask.ended, PipelineTask.updated)


@dataclass(frozen=True)
class TaskFilter:
    """The list filters; None means 'any'."""

    document_type: str | None = None
    status: PipelineStatus | None = None
    stage: str | None = None
    app: str | None = None


def summary(task: PipelineTask) -> dict[str, Any]:
    """The list item of a task."""
    return {
        "id": task.id,
        "app_id": task.app,
        "runtime_id": task.runtime,
        "document_type": task.document_type,
        "document_ref": task.document_ref,
        "stage": task.stage,
        "status": task.status,
        "retries": task.retries,
        "error": task.error,
        "error_stage": task.error_stage,
        "duration_seconds": task.duration_seconds,
        "created": task.created,
        "started": task.started,
        "ended": task.ended,
        "updated": task.updated,
    }


def detail(task: PipelineTask) -> dict[str, Any]:
    """The detail view: the summary and the seconds spent in each stage."""
    return summary(task) | {"stage_durations": task.stage_durations or {}}


def _filtered(f: TaskFilter) -> ModelSelect[PipelineTask]:
    query = PipelineTask.select()
    exact = {
        PipelineTask.document_type: f.document_type,
        PipelineTask.status: f.status,
        PipelineTask.stage: f.stage,
        PipelineTask.app: f.app,
    }
    return where_given(query, exact)


def list_tasks(f: TaskFilter, sort: list[SortKey], page: int, per_page: int) -> Page:
    """One page of tasks matching ``f``; newest first unless ``sort`` says otherwise."""
    query = apply_sort(_filtered(f), sort or DEFAULT_SORT, SORTABLE, tiebreak=PipelineTask.id)
    result = paginate(query, page, per_page)
    return Page([summary(t) for t in result.rows], result.page, result.per_page, result.total)


def get_task(task_id: str | int) -> dict[str, Any]:
    """The detail view of one task, or NotFound (also for an id that is not a number)."""
    text = str(task_id)
    task = PipelineTask.get_or_none(PipelineTask.id == int(text)) if text.isdigit() else None
    if task is None:
        raise NotFound(f"No pipeline task with id {text!r}.")
    return detail(task)


def _window(period: str, now: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    until = now or utcnow()
    return until - PERIODS[period], until


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


def throughput(period: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Per document type, the tasks created in ``period`` before ``now``.

    The window is ``[now - period, now)``. ``avg_duration_seconds`` averages the
    completed tasks that have a duration (null when none), rounded to 0.1 s;
    ``throughput_per_hour`` is documents taken in per hour of the period (all tasks, as
    in the spec's example: 142 tasks in 24 h → 5.9), rounded to 0.1;
    the rates are completed/total and failed/total, rounded to 0.001.
    """
    since, until = _window(period, now)
    hours = PERIODS[period].total_seconds() / 3600
    by_type: dict[str, list[Any]] = {}
    for (document_type, _stage, status), c in rollup.counts(since, until).items():
        figures = by_type.setdefault(document_type, [0, 0, 0, 0.0, 0])
        figures[0] += c.tasks
        figures[1] += c.tasks if status == PipelineStatus.COMPLETED else 0
        figures[2] += c.tasks if status == PipelineStatus.FAILED else 0
        figures[3] += c.duration_sum
        figures[4] += c.durations
    pipelines = []
    for document_type in sorted(by_type):
        total, n_completed, n_failed, duration_sum, durations = by_type[document_type]
        pipelines.append(
            {
                "document_type": document_type,
                "total_tasks": total,
                "completed": n_completed,
                "failed": n_failed,
                "avg_duration_seconds": (round(duration_sum / durations, 1) if durations else None),
                "throughput_per_hour": round(total / hours, 1),
                "success_rate": _rate(n_completed, total),
                "failure_rate": _rate(n_failed, total),
            }
        )
    return {"period": period, "since": since, "until": until, "pipelines": pipelines}


def errors(period: str, limit: int = 5, now: dt.datetime | None = None) -> dict[str, Any]:
    """Failed tasks that failed in ``period`` before ``now``, grouped by document type.

    A task failed at its end time, else at its last update; the window is
    ``[now - period, now)``. Each group has its count, counts by error stage and its
    ``limit`` most recent errors (by that time, then id), picked in SQL by ROW_NUMBER.
    """
    since, until = _window(period, now)
    failed_at = _failed_at()
    # failed_at in the window, said without COALESCE so that the index on (status, ended)
    # answers it: the failed tasks ended in the window, or without an end, updated in it
    ended, updated = PipelineTask.ended, PipelineTask.updated
    in_window = (PipelineTask.status == PipelineStatus.FAILED) & (
        ((ended >= since) & (ended < until))
        | (ended.is_null() & (updated >= since) & (updated < until))
    )
    count = fn.COUNT(PipelineTask.id)
    by_stage = tuples(
        PipelineTask.select(PipelineTask.document_type, PipelineTask.error_stage, count)
        .where(in_window)
        .group_by(PipelineTask.document_type, PipelineTask.error_stage)
    )
    groups: dict[str, dict[str, Any]] = {}
    for document_type, error_stage, n in by_stage:
        group = groups.setdefault(
            document_type,
            {"document_type": document_type, "failed": 0, "by_stage": [], "recent": []},
        )
        group["failed"] += int(n)
        group["by_stage"].append({"error_stage": error_stage, "count": int(n)})

    rank = fn.ROW_NUMBER().over(
        partition_by=[PipelineTask.document_type],
        order_by=[failed_at.desc(), PipelineTask.id.desc()],
    )
    ranked = PipelineTask.select(
        PipelineTask.id,
        PipelineTask.document_type,
        PipelineTask.document_ref,
        PipelineTask.error,
        PipelineTask.error_stage,
        PipelineTask.retries,
        failed_at.alias("failed_at"),
        rank.alias("position"),
    ).where(in_window)
    latest = tuples(
        ranked.select_from(
            ranked.c.id,
            ranked.c.document_type,
            ranked.c.document_ref,
            ranked.c.error,
            ranked.c.error_stage,
            ranked.c.retries,
            ranked.c.failed_at,
        )
        .where(ranked.c.position <= limit)
        .order_by(ranked.c.document_type, ranked.c.position)
    )
    for task_id, document_type, ref, error, error_stage, retries, failed_at in latest:
        groups[document_type]["recent"].append(
            {
                "id": task_id,
                "document_ref": ref,
                "error": error,
                "error_stage": error_stage,
                "retries": retries,
                "at": python_value(PipelineTask.updated, failed_at),
            }
        )
    ordered = sorted(groups.values(), key=lambda g: (-g["failed"], g["document_type"]))
    for group in ordered:
        group["by_stage"].sort(key=lambda s: (-s["count"], s["error_stage"] or ""))
    return {"period": period, "since": since, "until": until, "document_types": ordered}
