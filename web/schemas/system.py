"""System: health, host metrics and the run-time configuration."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from control.system.redaction import redact_value
from control.system.settings_registry import REGISTRY
from web.fields import UtcDateTime
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

    since: UtcDateTime | None = Field(
        None, alias="from", description="From this time, inclusive (ISO 8601; UTC if no zone)."
    )
    until: UtcDateTime | None = Field(
        None, alias="to", description="Before this time, exclusive (ISO 8601; UTC if no zone)."
    )
    bucket: int | None = Field(
        None,
        ge=1,
        le=7 * 24 * 3600,
        description="Average the history in buckets of this many seconds (widened to keep "
        "at most 1000 points; without it rows come as sampled while they fit).",
    )


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
    disk_total: int = Field(description="Size of the database's disk.")
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


def _changeable(schema: dict[str, Any]) -> None:
    """Spell out the settings that may change at run time, each with its type or null; the
    service validates them (a 400 for any other name, a 422 for a bad value)."""
    schema.pop("additionalProperties", None)
    schema["properties"] = {
        name: {"anyOf": [spec.adapter.json_schema(), {"type": "null"}]}
        for name, spec in sorted(REGISTRY.items())
    }
    schema["additionalProperties"] = False


class ConfigUpdate(BodyModel):
    """``{"changes": {"rate_limit_per_minute": 200, "log_level": "DEBUG"}}``; ``null``
    removes a run-time override. Settings: rate_limit_per_minute,
    auth_rate_limit_per_minute, token_rate_limit_per_minute, log_level, cors_origins,
    max_body_bytes, dashboard_enabled (see the ``changeable`` entries of GET)."""

    changes: dict[str, Any] = Field(
        min_length=1, max_length=50, json_schema_extra=lambda schema: _changeable(schema)
    )

    def audit_summary(self) -> dict[str, Any]:
        """What an audit row keeps of the body (a refusal's): no secret in any value."""
        return {"changes": {k: redact_value(k, v) for k, v in self.changes.items()}}


class AgentView(BaseModel):
    name: str
    host: str
    groups: list[str] = Field(description="The groups it hosts; empty: every group.")
    online: bool = Field(description="Seen within DC_AGENT_OFFLINE_AFTER_SECONDS.")
    last_seen: dt.datetime
    seconds_since_seen: float
    started: dt.datetime = Field(description="When the agent process started.")
    version: str
    slots: int = Field(description="Concurrent batch runs it allows (DC_AGENT_CONCURRENCY).")
    slots_busy: int = Field(description="Batch runs in progress (services take no slot).")
    running: list[str] = Field(description="Ids of the apps running on it (services too).")
    queued: list[str] = Field(
        description="Ids of the apps waiting for one of its slots (their run_status is "
        "SCHEDULED); for an offline agent, those it held when last seen."
    )


class AgentsMeta(BaseModel):
    offline_after_seconds: float
    online: int
    offline: int


class AgentsResponse(BaseModel):
    data: list[AgentView]
    meta: AgentsMeta


class QueueView(BaseModel):
    name: str
    kind: Literal["work", "delay", "dead_letter", "commands"] = Field(
        description="work: a Dramatiq queue; delay: its .DQ; dead_letter: its .XQ; "
        "commands: an agent's queue on the commands exchange."
    )
    of: str | None = Field(description="The Dramatiq queue a .DQ or .XQ belongs to.")
    exists: bool = Field(description="False for a queue never declared (0 messages).")
    messages: int
    consumers: int | None = Field(description="Null where the broker does not say (Redis).")
    ready: int | None
    unacknowledged: int | None = Field(description="Management API only.")
    publish_rate: float | None = Field(description="Messages/s in (management API only).")
    deliver_rate: float | None = Field(description="Messages/s out (management API only).")


class OutboxBacklog(BaseModel):
    unpublished: int = Field(description="Command outbox rows not yet published.")
    oldest: dt.datetime | None
    oldest_id: int | None
    lag_seconds: float = Field(description="Age of the oldest unpublished row; 0 when none.")


class QueueReadError(BaseModel):
    part: Literal["dramatiq", "commands", "all"]
    error: str


class SystemQueues(BaseModel):
    broker: str = Field(description="Dramatiq's broker: rabbitmq, redis or memory.")
    dramatiq_source: Literal["management", "passive", "redis"] | None = Field(
        description="How Dramatiq's queues were read; null for the in-process broker."
    )
    commands_source: Literal["management", "passive"] | None = Field(
        description="How the command queues were read; null without RabbitMQ."
    )
    queues: list[QueueView]
    outbox: OutboxBacklog
    errors: list[QueueReadError] = Field(description="Parts whose broker could not be read.")
    read_at: dt.datetime


class SystemQueuesResponse(BaseModel):
    data: SystemQueues
