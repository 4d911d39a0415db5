"""Background jobs: the dead-job list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from web.schemas.common import PageMeta
from web.validation import QueryModel


class DeadJobQuery(QueryModel):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: int = Field(20, ge=1, le=100, description="Items per page (1-100).")
    requeued: bool | None = Field(None, description="Only jobs (not) re-queued already.")


class DeadJob(BaseModel):
    id: int
    queue: str
    actor: str
    message_id: str
    args: dict[str, Any] = Field(description="{'args': [...], 'kwargs': {...}}, redacted.")
    error: str | None
    failed_at: dt.datetime
    requeued_at: dt.datetime | None


class DeadJobResponse(BaseModel):
    data: DeadJob


class DeadJobListResponse(BaseModel):
    data: list[DeadJob]
    meta: PageMeta
