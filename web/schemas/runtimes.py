"""Runtimes: list filters, list items and the detail view with the function summary."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

from control.db.models import naive_utc
from control.enums import RuntimeStatus
from web.schemas.common import CursorMeta
from web.validation import CursorQuery


class RuntimeListQuery(CursorQuery):
    """Filters of the runtime list; newest first, cursor pages."""

    # ``from`` is a keyword: the field is ``since`` with the parameter name as its alias
    model_config = ConfigDict(populate_by_name=True)

    app: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="App id, exact, or a glob: * any characters, ? one (scraper_*).",
    )
    status: RuntimeStatus | None = None
    since: dt.datetime | None = Field(
        None,
        alias="from",
        description="Only runs started at or after this time (ISO 8601; UTC if no zone).",
    )
    until: dt.datetime | None = Field(
        None,
        alias="to",
        description="Only runs started before this time (ISO 8601, exclusive; UTC if no zone).",
    )

    _naive_utc = field_validator("since", "until")(naive_utc)


class Records(BaseModel):
    total: int
    solved: int
    failed: int


class RuntimeSummary(BaseModel):
    id: str
    app: str = Field(description="The app's id.")
    started: dt.datetime
    ended: dt.datetime | None
    status: RuntimeStatus
    trigger: str = Field(description="schedule or command.")
    duration_seconds: float | None = Field(
        description="ended - started; now - started while RUNNING; null if it never ended."
    )
    records: Records
    error: str | None
    host: str | None


class FunctionSummary(BaseModel):
    function_name: str
    calls: int
    total_seconds: float
    avg_seconds: float
    max_seconds: float
    task_size: int = Field(description="Summed over the calls.")
    solved: int = Field(description="Summed over the calls.")
    failed: int = Field(description="Summed over the calls.")


class RuntimeDetail(RuntimeSummary):
    heartbeat: dt.datetime | None
    functions: list[FunctionSummary] = Field(
        description="Per function of the run (function_log), longest total first."
    )


class RuntimeListResponse(BaseModel):
    data: list[RuntimeSummary]
    meta: CursorMeta


class RuntimeDetailResponse(BaseModel):
    data: RuntimeDetail
