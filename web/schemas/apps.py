"""Apps: list filters, list items and the detail view."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from control.apps import schedule as app_schedule
from control.apps.services import SORTABLE
from control.enums import CommandFlag, FatalFlag, RunStatus, RuntimeStatus
from control.errors import InvalidInput
from web.fields import TIME_ZONES, UtcDateTime
from web.schemas.common import PageCursorMeta
from web.validation import Invalid, PageQuery, PatchModel, cursor_field, sort_field

Verdict = Literal["slow", "stalled", "missed", "low_output", "failing"]
HealthFilter = Literal["slow", "stalled", "missed", "low_output", "failing", "unhealthy", "ok"]


class AppListQuery(PageQuery):
    group: str | None = Field(None, max_length=64, description="Exact app group.")
    parent: str | None = Field(None, max_length=64, description="Exact parent name.")
    run_status: RunStatus | None = None
    fatal_flag: FatalFlag | None = None
    disabled: bool | None = None
    is_service: bool | None = None
    q: str | None = Field(None, min_length=1, max_length=128, description="Text in id or name.")
    health: HealthFilter | None = Field(
        None,
        description="Apps holding this health verdict now; 'unhealthy': any verdict, "
        "'ok': none (docs/health.md).",
    )
    sort: str | None = sort_field(SORTABLE)
    cursor: str | None = cursor_field(
        "It carries the page number and the sort: with it, page and sort are ignored."
    )


class LastRuntime(BaseModel):
    runtime: str
    started: dt.datetime
    ended: dt.datetime | None
    status: RuntimeStatus


class Progress(BaseModel):
    current: int | None
    total: int | None
    updated: dt.datetime | None
    percent: float | None = Field(description="current / total, in percent.")
    eta_seconds: float | None = Field(
        description="Seconds left at the current run's average throughput, counted from "
        "'updated': (total - current) / (current / (updated - current run started)); "
        "null without a current run."
    )
    eta: dt.datetime | None = Field(description="'updated' plus eta_seconds.")


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
    last_run: LastRuntime | None = Field(
        description="The grid's 'Last run': the current run while the app runs (ended "
        "null), else the last finished run."
    )
    last_runtime: LastRuntime | None = Field(description="The last finished run.")
    health: list[Verdict] = Field(
        default_factory=list,
        description="The health verdicts the app holds now; empty when healthy "
        "(GET /apps/{app_id}/health has the evidence).",
    )


class HostingAgent(BaseModel):
    name: str | None = Field(
        description="The agent running the app or holding it for a slot; null when none says so."
    )
    online: bool | None = Field(description="Whether that agent beat within its timeout.")
    waiting_for_slot: bool = Field(
        description="Queued on that agent until a slot frees (why it is still SCHEDULED)."
    )


class AppDetail(AppSummary):
    agent: HostingAgent | None = Field(
        None, description="From the agents' heartbeats (GET only; not in PATCH answers)."
    )
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
    meta: PageCursorMeta


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


def _cron_list(value: str) -> str:
    item = rf"(?:\*|{value}(?:-{value})?)(?:/[1-9][0-9]?)?"
    return rf"{item}(?:,{item})*"


# For the document: the five cron fields (``*``, values, ranges, lists, steps) within their
# bounds; every string it matches passes croniter (validate_schedule is still the rule).
CRON_SHAPE = "^{}$".format(
    " ".join(
        _cron_list(value)
        for value in (
            r"[0-5]?[0-9]",
            r"(?:[01]?[0-9]|2[0-3])",
            r"(?:0?[1-9]|[12][0-9]|3[01])",
            r"(?:0?[1-9]|1[0-2])",
            r"[0-7]",
        )
    )
)


class AppPatch(PatchModel):
    """Configuration fields to change; omitted fields keep their values."""

    settings: dict[str, Any] | SkipJsonSchema[None] = Field(
        None, description="The app's settings JSON object; replaces the whole object."
    )
    schedule: str | None = Field(
        None,
        min_length=1,
        max_length=120,
        json_schema_extra={"pattern": CRON_SHAPE},
        description="Five-field cron expression (minute hour day month weekday), read in "
        "'timezone'; null removes the schedule.",
    )
    timezone: (
        Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"enum": TIME_ZONES})]
        | SkipJsonSchema[None]
    ) = Field(None, description="IANA time zone name.")
    disabled: bool | SkipJsonSchema[None] = None
    next_run: UtcDateTime | None = Field(
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
            return app_schedule.validate_schedule(value)
        except InvalidInput as exc:
            raise Invalid(exc.message) from None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return app_schedule.validate_timezone(value)
        except InvalidInput as exc:
            raise Invalid(exc.message) from None

    @field_validator("settings", "timezone", "disabled", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise Invalid("cannot be null")
        return value
