"""Apps: list filters, list items and the detail view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, field_validator

from control.commands import services as commands
from control.enums import CommandFlag, FatalFlag, RunStatus, RuntimeStatus
from control.errors import InvalidInput
from web.schemas.common import PageMeta
from web.validation import PageQuery, PatchModel


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


class ProgressDetail(Progress):
    percent: float | None = Field(description="current / total, in percent.")
    eta_seconds: float | None = Field(
        description="Seconds left at the current run's average throughput, counted from "
        "'updated': (total - current) / (current / (updated - run started))."
    )
    eta: dt.datetime | None = Field(description="'updated' plus eta_seconds.")


class AppDetail(AppSummary):
    progress: ProgressDetail  # type: ignore[assignment]
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


class GroupCounts(BaseModel):
    group: str
    apps: int = Field(description="Apps in the group.")
    running: int = Field(description="Apps whose run_status is RUNNING.")
    fatal: int = Field(description="Apps whose fatal_flag is not NO_FATAL.")
    disabled: int


class GroupsResponse(BaseModel):
    data: list[GroupCounts] = Field(description="Every group that has an app, by name.")


class AppPatch(PatchModel):
    """Configuration fields to change; omitted fields keep their values."""

    settings: dict[str, Any] | None = Field(
        None, description="The app's settings JSON object; replaces the whole object."
    )
    schedule: str | None = Field(
        None,
        max_length=120,
        description="Five-field cron expression (minute hour day month weekday), read in "
        "'timezone'; null removes the schedule.",
    )
    timezone: str | None = Field(None, max_length=64, description="IANA time zone name.")
    disabled: bool | None = None
    next_run: dt.datetime | None = Field(
        None,
        description="Next run (UTC unless an offset is given). Omitted, it is recomputed "
        "from the schedule when the schedule or time zone changes.",
    )

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return commands.validate_schedule(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return commands.validate_timezone(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    @field_validator("settings", "timezone", "disabled", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value
