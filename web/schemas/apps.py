"""Apps: list filters, list items and the detail view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from control.enums import CommandFlag, FatalFlag, RunStatus, RuntimeStatus
from web.schemas.common import PageMeta
from web.validation import PageQuery


class AppListQuery(PageQuery):
    group: str | None = Field(None, max_length=64, description="Exact app group.")
    parent: str | None = Field(None, max_length=64, description="Exact parent name.")
    run_status: RunStatus | None = None
    fatal_flag: FatalFlag | None = None
    disabled: bool | None = None
    is_service: bool | None = None
    q: str | None = Field(None, min_length=1, max_length=128, description="Text in id or name.")


class LastRuntime(BaseModel):
    runtime: str
    started: dt.datetime
    ended: dt.datetime | None
    status: RuntimeStatus


class Progress(BaseModel):
    current: int | None
    total: int | None
    updated: dt.datetime | None


class AppSummary(BaseModel):
    id: str
    app: str
    group: str
    parent: str
    run_status: RunStatus
    command_flag: CommandFlag
    fatal_flag: FatalFlag
    disabled: bool
    is_service: bool
    schedule: str | None
    timezone: str
    next_run: dt.datetime | None
    progress: Progress
    last_runtime: LastRuntime | None


class AppDetail(AppSummary):
    description: str
    settings: dict[str, Any]
    fatal_reason: str | None
    consecutive_failures: int
    current_runtime: str | None
    command_updated: dt.datetime | None
    version: int
    created: dt.datetime
    updated: dt.datetime


class AppListResponse(BaseModel):
    data: list[AppSummary]
    meta: PageMeta


class AppDetailResponse(BaseModel):
    data: AppDetail
