"""Performance: function log filters and entries, the slowest functions, an app's
history and trends in time buckets."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from web.fields import UtcDateTime
from web.schemas.common import CursorMeta
from web.validation import CursorQuery, QueryModel

Period = Literal["last_1h", "last_24h", "last_7d"]
Bucket = Literal["hour", "day"]


class _Window(QueryModel):
    """``from`` (inclusive) and ``to`` (exclusive); a time without a zone is UTC."""

    since: UtcDateTime | None = Field(
        None, alias="from", description="From this time, inclusive (ISO 8601; UTC if no zone)."
    )
    until: UtcDateTime | None = Field(
        None, alias="to", description="Before this time, exclusive (ISO 8601; UTC if no zone)."
    )


class FunctionLogQuery(CursorQuery, _Window):
    """Filters of the function logs; newest first, cursor pages."""

    app: str | None = Field(None, max_length=128, description="Exact app id.")
    function_name: str | None = Field(None, max_length=200, description="Exact function name.")


class FunctionLogItem(BaseModel):
    id: int
    app_id: str
    runtime_id: str | None
    function_name: str
    module: str
    started: dt.datetime
    runtime_seconds: float
    task_size: int
    solved: int
    failed: int


class FunctionLogListResponse(BaseModel):
    data: list[FunctionLogItem]
    meta: CursorMeta


class SlowestQuery(_Window):
    """``period`` or ``from``/``to`` (not both); neither means all time."""

    n: int = Field(10, ge=1, le=100, description="How many functions (1-100).")
    period: Period | None = Field(None, description="A window ending now.")


class SlowestItem(BaseModel):
    function_name: str
    app_id: str
    avg_runtime_seconds: float = Field(description="To 0.001 s.")
    max_runtime_seconds: float
    avg_task_size: float = Field(description="To 0.1.")
    total_calls: int


class SlowestMeta(BaseModel):
    n: int
    since: dt.datetime | None
    until: dt.datetime | None


class SlowestResponse(BaseModel):
    data: list[SlowestItem] = Field(description="Slowest average runtime first.")
    meta: SlowestMeta


class BucketQuery(_Window):
    """Hour or day buckets over ``from``/``to``: ``to`` defaults to now, ``from`` to a
    day (hour) or 30 days (day) before it; at most 31 days of hours, 366 of days."""

    bucket: Bucket = Field("hour", description="Bucket size.")
    function_name: str | None = Field(None, max_length=200, description="Exact function name.")


class TrendsQuery(BucketQuery):
    app: str | None = Field(None, max_length=128, description="Exact app id.")


class HistoryQuery(BucketQuery):
    bucket: Bucket = Field("day", description="Bucket size.")


class TrendPoint(BaseModel):
    function_name: str
    bucket: dt.datetime = Field(description="Start of the hour or day (UTC).")
    calls: int
    task_size: int = Field(description="Sum of the calls' task sizes.")
    solved: int
    failed: int
    avg_runtime_seconds: float = Field(description="To 0.001 s.")
    max_runtime_seconds: float


class BucketMeta(BaseModel):
    bucket: Bucket
    since: dt.datetime
    until: dt.datetime


class TrendsResponse(BaseModel):
    data: list[TrendPoint] = Field(description="By function name, then bucket.")
    meta: BucketMeta


class HistoryPoint(BaseModel):
    bucket: dt.datetime
    calls: int
    task_size: int
    solved: int
    failed: int
    avg_runtime_seconds: float
    max_runtime_seconds: float


class FunctionHistory(BaseModel):
    function_name: str
    total_calls: int
    avg_runtime_seconds: float
    max_runtime_seconds: float
    avg_task_size: float
    solved: int
    failed: int
    points: list[HistoryPoint] = Field(description="Buckets with calls, oldest first.")


class AppHistory(BaseModel):
    app_id: str
    bucket: Bucket
    since: dt.datetime
    until: dt.datetime
    functions: list[FunctionHistory]


class AppHistoryResponse(BaseModel):
    data: AppHistory
