"""System: health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from web.validation import QueryModel


class HealthQuery(QueryModel):
    detailed: bool | None = Field(None, description="Component details (authenticated only).")


class HealthStatus(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str | None = None
    uptime_seconds: int | None = None
    checks: dict[str, Any] | None = None
    failing: list[str] | None = None


class HealthResponse(BaseModel):
    """Anonymous callers get only ``status``; authenticated ones the details."""

    data: HealthStatus
