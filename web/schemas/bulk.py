"""Bulk jobs: the request (filter + command), the 202 answer, a job and its results."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from control.bulk.models import BulkOutcome, BulkStatus
from control.enums import FatalFlag, RunStatus
from web.schemas.common import PageMeta
from web.validation import BodyModel, QueryModel

BulkCommand = Literal["START", "STOP", "RESTART", "RESET", "ENABLE", "DISABLE"]


class BulkFilter(BodyModel):
    group: str | None = Field(None, max_length=64)
    parent: str | None = Field(None, max_length=64)
    run_status: RunStatus | None = None
    fatal_flag: FatalFlag | None = None
    app_ids: list[str] | None = Field(
        None, max_length=100_000, description="Explicit app ids (combined with the rest)."
    )


class BulkActionRequest(BodyModel):
    """``/bulk/start`` and ``/bulk/stop``: the command is in the path."""

    filter: BulkFilter = Field(description="At least one criterion; an empty one is refused.")
    dry_run: bool = Field(False, description="Answer the matched apps; change nothing.")


class BulkCommandRequest(BulkActionRequest):
    command: BulkCommand


class BulkJobSummary(BaseModel):
    id: str
    command: str
    filter: dict[str, object]
    status: BulkStatus = Field(description="queued, running, completed or failed.")
    matched: int
    applied: int
    skipped: int
    failed: int
    done: int
    percent: float
    error: str | None
    requested_by: str
    created: dt.datetime
    started: dt.datetime | None
    finished: dt.datetime | None
    url: str


class BulkResult(BaseModel):
    app_id: str
    outcome: BulkOutcome
    reason: str | None
    command_id: str | None


class BulkJobDetail(BulkJobSummary):
    results: list[BulkResult]


class BulkJobResponse(BaseModel):
    data: BulkJobDetail


class BulkAccepted(BaseModel):
    data: BulkJobSummary


class DryRun(BaseModel):
    dry_run: Literal[True]
    matched: int
    app_ids: list[str]


class DryRunResponse(BaseModel):
    data: DryRun


class BulkJobQuery(QueryModel):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: int = Field(20, ge=1, le=100, description="Items per page (1-100).")
    status: BulkStatus | None = None


class BulkJobListResponse(BaseModel):
    data: list[BulkJobSummary]
    meta: PageMeta
