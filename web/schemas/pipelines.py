"""Pipelines: task filters, tasks, throughput per document type and grouped errors."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from control.enums import PipelineStatus
from control.pipelines.services import SORTABLE
from web.schemas.common import PageMeta
from web.validation import PageQuery, QueryModel, sort_field

Period = Literal["last_1h", "last_24h", "last_7d"]


class TaskListQuery(PageQuery):
    """Filters of the task list; sort by created, updated, duration_seconds, retries
    (newest created first by default)."""

    document_type: str | None = Field(None, max_length=64, description="Exact document type.")
    status: PipelineStatus | None = None
    stage: str | None = Field(None, max_length=32, description="Exact current stage.")
    app: str | None = Field(None, max_length=128, description="Exact app id.")
    sort: str | None = sort_field(SORTABLE)


class TaskSummary(BaseModel):
    id: int
    app_id: str
    runtime_id: str | None
    document_type: str
    document_ref: str
    stage: str = Field(description="The current (or last) stage.")
    status: PipelineStatus
    retries: int
    error: str | None
    error_stage: str | None
    duration_seconds: float | None
    created: dt.datetime
    started: dt.datetime | None
    ended: dt.datetime | None
    updated: dt.datetime


class TaskDetail(TaskSummary):
    stage_durations: dict[str, Any] = Field(description="Seconds spent in each stage.")


class TaskListResponse(BaseModel):
    data: list[TaskSummary]
    meta: PageMeta


class TaskDetailResponse(BaseModel):
    data: TaskDetail


class ThroughputQuery(QueryModel):
    period: Period = Field("last_24h", description="Tasks created within this window.")


class PipelineFigures(BaseModel):
    document_type: str
    total_tasks: int
    completed: int
    failed: int
    avg_duration_seconds: float | None = Field(
        description="Mean duration of the completed tasks, to 0.1 s; null when none."
    )
    throughput_per_hour: float = Field(
        description="Completed tasks per hour of the period, to 0.1."
    )
    success_rate: float = Field(description="completed / total_tasks, to 0.001.")
    failure_rate: float = Field(description="failed / total_tasks, to 0.001.")


class Throughput(BaseModel):
    period: Period
    since: dt.datetime = Field(description="Start of the window (inclusive).")
    until: dt.datetime = Field(description="End of the window (exclusive).")
    pipelines: list[PipelineFigures]


class ThroughputResponse(BaseModel):
    data: Throughput


class ErrorsQuery(QueryModel):
    period: Period = Field("last_24h", description="Tasks that failed within this window.")
    limit: int = Field(5, ge=1, le=50, description="Recent errors per document type (1-50).")


class StageCount(BaseModel):
    error_stage: str | None
    count: int


class RecentError(BaseModel):
    id: int = Field(description="The task id.")
    document_ref: str
    error: str | None
    error_stage: str | None
    retries: int
    at: dt.datetime = Field(description="When the task failed (its end, else last update).")


class ErrorGroup(BaseModel):
    document_type: str
    failed: int
    by_stage: list[StageCount]
    recent: list[RecentError] = Field(description="The latest failures, newest first.")


class PipelineErrors(BaseModel):
    period: Period
    since: dt.datetime
    until: dt.datetime
    document_types: list[ErrorGroup] = Field(description="Most failures first.")


class PipelineErrorsResponse(BaseModel):
    data: PipelineErrors


class StagesQuery(QueryModel):
    period: Period = Field("last_24h", description="Tasks created within this window.")


class StageCell(BaseModel):
    stage: str
    total: int = Field(description="Tasks of the type now in this stage.")
    failed: int = Field(description="Of them, failed in this stage.")
    by_status: dict[str, int] = Field(description="Every status, zero included.")


class StageRow(BaseModel):
    document_type: str
    total: int
    failed: int
    cells: list[StageCell] = Field(description="One per stage of ``stages``, in its order.")


class StageMatrix(BaseModel):
    period: Period
    since: dt.datetime = Field(description="Start of the window (inclusive).")
    until: dt.datetime = Field(description="End of the window (exclusive).")
    stages: list[str] = Field(description="The stages seen, in pipeline order.")
    document_types: list[StageRow] = Field(description="By document type, A-Z.")


class StageMatrixResponse(BaseModel):
    data: StageMatrix
