"""System: health, host metrics and the run-time configuration."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from control.db.models import naive_utc
from web.validation import BodyModel, QueryModel


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


# --- metrics ------------------------------------------------------------------------


class MetricsQuery(QueryModel):
    """The history window: ``from`` (inclusive, default an hour before ``to``) and ``to``
    (exclusive, default now); a time without a zone is UTC."""

    since: dt.datetime | None = Field(
        None, alias="from", description="From this time, inclusive (ISO 8601; UTC if no zone)."
    )
    until: dt.datetime | None = Field(
        None, alias="to", description="Before this time, exclusive (ISO 8601; UTC if no zone)."
    )
    bucket: int | None = Field(
        None,
        ge=1,
        le=7 * 24 * 3600,
        description="Average the history in buckets of this many seconds (widened to keep "
        "at most 1000 points; without it rows come as sampled while they fit).",
    )

    _naive_utc = field_validator("since", "until")(naive_utc)


class MetricsNow(BaseModel):
    """The host now (psutil). Bytes are bytes; percentages 0-100."""

    at: dt.datetime
    cpu_percent: float
    cpu_count: int
    load_1: float | None
    load_5: float | None
    load_15: float | None
    memory_total: int
    memory_used: int
    memory_available: int
    memory_percent: float
    swap_total: int
    swap_used: int
    swap_percent: float
    disk_path: str = Field(description="The directory whose disk is measured (the database's).")
    disk_total: int
    disk_used: int
    disk_percent: float
    process_count: int
    process_rss: int = Field(description="Resident memory of the API process answering.")
    process_threads: int
    process_uptime_seconds: int
    boot_time: dt.datetime
    uptime_seconds: int


class MetricsPoint(BaseModel):
    at: dt.datetime = Field(description="Sample time, or the bucket's start when bucketed.")
    cpu_percent: float
    memory_percent: float
    disk_percent: float
    load_1: float | None
    process_count: float
    samples: int | None = Field(None, description="Rows averaged (bucketed history only).")


class SystemMetrics(BaseModel):
    now: MetricsNow
    history: list[MetricsPoint]
    bucket_seconds: int | None = Field(description="Bucket size; null when not bucketed.")
    since: dt.datetime = Field(alias="from")
    until: dt.datetime = Field(alias="to")


class SystemMetricsResponse(BaseModel):
    data: SystemMetrics


# --- configuration --------------------------------------------------------------------


class ConfigEntry(BaseModel):
    value: Any = Field(description="The effective value, secrets redacted.")
    source: Literal["default", "environment", "runtime"]
    changeable: bool = Field(description="Whether POST /system/config may change it.")
    applies: Literal["live", "restart"] | None = Field(
        None, description="A run-time change applies at once, or at the next start."
    )
    description: str | None = None
    pending_restart: bool | None = Field(
        None, description="A stored change this process will only apply when restarted."
    )
    updated: dt.datetime | None = None
    updated_by: str | None = None


class SystemConfig(BaseModel):
    settings: dict[str, ConfigEntry]


class SystemConfigResponse(BaseModel):
    data: SystemConfig


class ConfigUpdate(BodyModel):
    """``{"changes": {"rate_limit_per_minute": 200, "log_level": "DEBUG"}}``; ``null``
    removes a run-time override. Settings: rate_limit_per_minute,
    auth_rate_limit_per_minute, token_rate_limit_per_minute, log_level, cors_origins,
    max_body_bytes, dashboard_enabled (see the ``changeable`` entries of GET)."""

    changes: dict[str, Any] = Field(min_length=1, max_length=50)
