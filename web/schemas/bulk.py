"""Bulk jobs: the request (filter + command), the 202 answer, a job and its results."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from control.bulk.eligibility import SkipReason
from control.bulk.models import BulkOutcome, BulkStatus
from control.enums import FatalFlag, RunStatus
from web.schemas.common import PageMeta
from web.validation import BodyModel, QueryModel

BulkCommand = Literal["START", "STOP", "RESTART", "RESET", "ENABLE", "DISABLE"]


def _one_criterion(schema: dict[str, Any]) -> None:
    # The service refuses a filter without a criterion (null, "" and [] name nothing):
    # the document says so, so that clients and schema-driven tools know it.
    present = {
        "group": {"type": "string", "minLength": 1},
        "parent": {"type": "string", "minLength": 1},
        "run_status": {"type": "string"},
        "fatal_flag": {"type": "string"},
        "app_ids": {"type": "array", "minItems": 1},
    }
    schema["anyOf"] = [
        {"required": [name], "properties": {name: rule}} for name, rule in present.items()
    ]


class BulkFilter(BodyModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_criterion)

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
    dry_run: bool = Field(
        False, description="Answer what the job would do to each matched app; change nothing."
    )
    rate: float | None = Field(
        None,
        ge=0.01,  # a chunk at least every 100 s: well within the stale-job sweep's 7 min
        le=100_000,
        description="At most this many apps per second: the job is applied in chunks of at "
        "most this many apps (at least one), each chunk sent with a delay so that they start "
        "no closer than its size / rate seconds apart. Left out: as fast as the workers go.",
    )
    command: str | None = Field(
        None,
        max_length=16,
        description="Optional, as in the spec's example: the path's command (START on "
        "/bulk/start, STOP on /bulk/stop), any case; any other value is a 422.",
    )


def _repeating(command: str) -> Any:
    # The document says which value the path takes (any case, blanks around); the rule,
    # with its message, is web/resources/bulk.py's _path_command.
    letters = "".join(f"[{c.upper()}{c.lower()}]" for c in command)
    return Field(
        None,
        max_length=16,
        json_schema_extra={"pattern": rf"^\s*{letters}\s*$"},
        description=f"Optional, as in the spec's example: {command}, any case; any other "
        "value is a 422.",
    )


class BulkStartRequest(BulkActionRequest):
    """``/bulk/start``: ``command``, when sent, repeats START."""

    command: str | None = _repeating("START")


class BulkStopRequest(BulkActionRequest):
    """``/bulk/stop``: ``command``, when sent, repeats STOP."""

    command: str | None = _repeating("STOP")


class BulkCommandRequest(BulkActionRequest):
    command: BulkCommand  # required here, one of six


class BulkJobSummary(BaseModel):
    id: str
    command: str
    filter: dict[str, object]
    status: BulkStatus = Field(description="queued, running, completed, failed or cancelled.")
    matched: int
    applied: int
    skipped: int
    failed: int
    done: int
    percent: float
    error: str | None
    rate: float | None = Field(description="Apps per second at most, or null.")
    requested_by: str
    cancelled_by: str | None = Field(description="Who cancelled the job, or null.")
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


class DryRunApp(BaseModel):
    app_id: str
    outcome: Literal["applied", "skipped"] = Field(
        description="What the job would do to the app in its current state."
    )
    reason: SkipReason | None = Field(description="Why it would be skipped (a stable code).")
    message: str | None = Field(description="The same, for people.")


class DryRun(BaseModel):
    dry_run: Literal[True]
    command: str
    matched: int = Field(description="Apps the filter matches.")
    would_apply: int
    would_skip: int
    skipped_by_reason: dict[str, int] = Field(description="Skipped apps per reason code.")
    app_ids: list[str] = Field(description="The matched app ids, sorted.")
    apps: list[DryRunApp] = Field(description="One verdict per matched app, by id.")


class DryRunResponse(BaseModel):
    data: DryRun


class BulkJobQuery(QueryModel):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: int = Field(20, ge=1, le=100, description="Items per page (1-100).")
    status: BulkStatus | None = None


class BulkJobListResponse(BaseModel):
    data: list[BulkJobSummary]
    meta: PageMeta
