"""Notifications: channels, the delivery history and test sends."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from control.notifications.services import EVENTS
from web.schemas.common import CursorMeta, PageMeta
from web.validation import BodyModel, CursorQuery, PatchModel, QueryModel

ChannelTypeName = Literal["telegram", "email", "webhook"]
SeverityName = Literal["info", "warning", "error", "critical"]
EventName = Literal["app.fatal", "runtime.failed", "pipeline.error_rate", "command.failed"]
StatusName = Literal["queued", "sending", "sent", "failed"]

CONFIG_HELP = (
    'telegram: {"bot_token", "chat_id"}; email: {"host", "port", "username", "password", '
    '"from", "to": [...], "security": "starttls"|"ssl"|"none"}; webhook: {"url", "secret"} '
    "(at least 16 characters). Secrets (bot_token, password, secret) are write-only."
)
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
WINDOW = Field(
    300, ge=0, le=7 * 86400, description="Seconds in which a repeat of an event is skipped."
)


class ChannelListQuery(QueryModel):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: int = Field(20, ge=1, le=100, description="Items per page (1-100).")


class ChannelCreate(BodyModel):
    """A channel; ``config`` depends on ``type``."""

    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    type: ChannelTypeName
    config: dict[str, Any] = Field(description=CONFIG_HELP)
    events: list[EventName] = Field(
        default_factory=lambda: list(EVENTS),
        max_length=len(EVENTS),
        description="Events routed to the channel (default: all).",
    )
    min_severity: SeverityName = "warning"
    enabled: bool = True
    dedup_window_seconds: int = WINDOW


class ChannelPatch(PatchModel):
    """Fields to change. ``config`` is merged over the stored one: an omitted secret is
    kept, a given one replaced, ``null`` removes an optional key. The type is fixed."""

    name: str | None = Field(None, min_length=1, max_length=100, pattern=NAME_PATTERN)
    config: dict[str, Any] | None = Field(None, description=CONFIG_HELP)
    events: list[EventName] | None = Field(None, max_length=len(EVENTS))
    min_severity: SeverityName | None = None
    enabled: bool | None = None
    dedup_window_seconds: int | None = Field(None, ge=0, le=7 * 86400)

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class Channel(BaseModel):
    id: int
    name: str
    type: ChannelTypeName
    config: dict[str, Any] = Field(
        description="Non-secret settings, and '<secret>_set': true|false for each secret."
    )
    events: list[str]
    min_severity: SeverityName
    enabled: bool
    dedup_window_seconds: int
    created: dt.datetime
    updated: dt.datetime


class ChannelResponse(BaseModel):
    data: Channel


class ChannelListResponse(BaseModel):
    data: list[Channel]
    meta: PageMeta


class HistoryQuery(CursorQuery):
    """History filters; newest first, cursor pages."""

    channel_id: int | None = Field(None, ge=1, description="Deliveries to this channel.")
    status: StatusName | None = None
    event: str | None = Field(
        None, pattern=r"^[a-z0-9_.]+$", max_length=64, description="e.g. app.fatal, test."
    )


class Delivery(BaseModel):
    id: int
    channel_id: int | None = Field(description="Null once the channel is deleted.")
    channel: str = Field(description="The channel's name when the delivery was made.")
    event: str
    severity: SeverityName
    title: str
    body: str
    dedup_key: str | None
    status: StatusName
    attempts: int
    last_error: str | None
    latency_ms: int | None = Field(description="Duration of the last attempt.")
    created: dt.datetime
    updated: dt.datetime
    sent_at: dt.datetime | None


class DeliveryResponse(BaseModel):
    data: Delivery


class HistoryResponse(BaseModel):
    data: list[Delivery]
    meta: CursorMeta
