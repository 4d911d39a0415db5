"""Runtimes: list filters, list items and the detail view with the function summary."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from control.enums import RuntimeStatus
from web.fields import UtcDateTime
from web.schemas.common import CursorMeta
from web.validation import BodyModel, CursorQuery, QueryModel


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
    since: UtcDateTime | None = Field(
        None,
        alias="from",
        description="Only runs started at or after this time (ISO 8601; UTC if no zone).",
    )
    until: UtcDateTime | None = Field(
        None,
        alias="to",
        description="Only runs started before this time (ISO 8601, exclusive; UTC if no zone).",
    )


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


class RunNoteView(BaseModel):
    id: int
    runtime: str = Field(description="The run's id.")
    text: str
    author: str = Field(description="Who wrote it (the caller's subject).")
    created: dt.datetime


class RunNoteCreate(BodyModel):
    """``{"text": "upstream site down"}``: an operator's note on a run."""

    text: str = Field(
        min_length=1,
        max_length=2000,
        pattern=r"\S",
        description="Trimmed before it is stored; not only white space.",
    )


class RunNoteResponse(BaseModel):
    data: RunNoteView


class RuntimeDetail(RuntimeSummary):
    heartbeat: dt.datetime | None
    notes: list[RunNoteView] = Field(description="Operators' notes on the run, oldest first.")
    functions: list[FunctionSummary] = Field(
        description="Per function of the run (function_log), longest total first."
    )


class RuntimeListResponse(BaseModel):
    data: list[RuntimeSummary]
    meta: CursorMeta


class RuntimeDetailResponse(BaseModel):
    data: RuntimeDetail


class RecentRunsQuery(QueryModel):
    """The last runs of a page of apps (the dashboard's run strip), in one call."""

    app_ids: str = Field(
        min_length=1,
        max_length=20_000,
        # a first id, and at most 100 (one grid page): the rule is in the document, so
        # clients and the schema fuzzer know it
        pattern=r"^\s*[^,\s][^,]*(,[^,]*){0,99}$",
        description="Comma-separated app ids, at most 100 (one grid page).",
    )
    per_app: int = Field(10, ge=1, le=50, description="Runs per app, newest first (1-50).")

    def ids(self) -> list[str]:
        """The ids asked for, blanks around them and empty entries left out."""
        return [part.strip() for part in self.app_ids.split(",") if part.strip()]


class RecentRun(BaseModel):
    id: str
    started: dt.datetime
    ended: dt.datetime | None
    status: RuntimeStatus
    duration_seconds: float | None = Field(
        description="ended - started; now - started while RUNNING; null if it never ended."
    )


class RecentRunsResponse(BaseModel):
    data: dict[str, list[RecentRun]] = Field(
        description="Per asked app id, its last runs newest first (empty for none)."
    )
