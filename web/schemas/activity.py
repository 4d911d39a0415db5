"""Activity: the audit feed's filters and entries, and the dashboard's figures."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from web.fields import UtcDateTime
from web.schemas.common import CursorMeta
from web.validation import CursorQuery, QueryModel

Outcome = Literal["success", "denied", "failed", "error"]
Period = Literal["last_1h", "last_24h", "last_7d"]


class _ActivityFilters(CursorQuery):
    actor: str | None = Field(
        None, min_length=1, max_length=254, description="Exact actor: email, client id."
    )
    action: str | None = Field(
        None,
        pattern=r"^[a-z0-9_.-]+\*?$",
        max_length=64,
        description="Exact action (apps.start), or a prefix ending in * (apps.*).",
    )
    outcome: Outcome | None = None
    to: UtcDateTime | None = Field(
        None, description="Only entries before this time (ISO 8601, exclusive; UTC if no zone)."
    )


# ``from`` is a keyword, so the field is declared by name: the query validation and the
# OpenAPI document both key on field names, which an alias would not satisfy.
_FROM: dict[str, Any] = {
    "from": (
        UtcDateTime | None,
        Field(
            None,
            description="Only entries at or after this time (ISO 8601; UTC if no zone).",
        ),
    )
}
ActivityQuery = create_model(
    "ActivityQuery",
    __base__=_ActivityFilters,
    __doc__="Filters of the activity feed; newest first, cursor pages.",
    **_FROM,
)


class ActivityItem(BaseModel):
    id: int
    at: dt.datetime
    actor: str = Field(description="Email, service client id, key prefix or 'anonymous'.")
    actor_type: str = Field(description="user, service, api_key, cli or anonymous.")
    role: str | None
    ip: str | None
    action: str = Field(description="e.g. apps.start, auth.login_failed.")
    method: str | None
    endpoint: str | None = Field(description="The request path.")
    summary: dict[str, Any] = Field(description="Path parameters and body, secrets redacted.")
    status: int | None
    outcome: Outcome
    request_id: str | None


class ActivityListResponse(BaseModel):
    data: list[ActivityItem]
    meta: CursorMeta


class StatsQuery(QueryModel):
    period: Period = Field("last_24h", description="The window the counts cover.")


class ActorCount(BaseModel):
    actor: str
    count: int


class ActivityFigures(BaseModel):
    total: int
    by_action: dict[str, int]
    by_outcome: dict[str, int]
    failed_logins: int = Field(description="auth.login_failed and auth.service_failed.")
    top_actors: list[ActorCount] | None = Field(
        description="The five most active actors; null unless the caller is an admin."
    )


class AppFigures(BaseModel):
    total: int
    by_run_status: dict[str, int]
    fatal: int
    disabled: int


class RuntimeFigures(BaseModel):
    started: int
    completed: int = Field(description="Completed (ended) within the period.")
    failed: int = Field(description="Failed (ended) within the period.")


class Stats(BaseModel):
    period: Period
    since: dt.datetime
    until: dt.datetime
    activity: ActivityFigures
    apps: AppFigures = Field(description="The fleet now, whatever the period.")
    runtimes: RuntimeFigures


class StatsResponse(BaseModel):
    data: Stats
