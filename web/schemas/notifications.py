"""Notifications: channels, the delivery history and test sends."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from pydantic.json_schema import SkipJsonSchema

from control.json_types import json_int
from control.notifications import config as channel_config
from control.notifications.services import EVENTS
from web.fields import RowId
from web.schemas.common import CursorMeta, PageMeta
from web.validation import BodyModel, CursorQuery, Invalid, PatchModel, QueryModel

ChannelTypeName = Literal["telegram", "email", "webhook"]
SeverityName = Literal["info", "warning", "error", "critical"]
EventName = Literal[
    "app.fatal", "runtime.failed", "pipeline.error_rate", "command.failed", "app.health"
]
StatusName = Literal["queued", "sending", "sent", "failed"]

if TYPE_CHECKING:  # the type checker reads the integer; pydantic the JSON integer's rules
    DedupWindow = int
else:
    DedupWindow = json_int(ge=0, le=7 * 86400)

CONFIG_HELP = (
    'telegram: {"bot_token", "chat_id"}; email: {"host", "port", "username", "password", '
    '"from", "to": [...], "security": "starttls"|"ssl"|"none"}; webhook: {"url", "secret"} '
    "(at least 16 characters). Secrets (bot_token, password, secret) are write-only."
)
CONFIG_REF = "#/components/schemas/{model}"  # the config models have no nested models
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
WINDOW = Field(300, description="Seconds in which a repeat of an event is skipped.")


class ChannelListQuery(QueryModel):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: int = Field(20, ge=1, le=100, description="Items per page (1-100).")


def _partial_configs() -> dict[str, Any]:
    # PATCH merges ``config`` over the stored one, for the channel's (fixed) type: any
    # subset of one type's settings, and no other key
    branches = []
    for model in channel_config.MODELS.values():
        branch = model.model_json_schema(by_alias=True, ref_template=CONFIG_REF)
        branch.pop("required", None)
        branches.append(branch)
    return {"anyOf": branches}


def _config_by_type(schema: dict[str, Any]) -> None:
    # ``config`` depends on ``type``: one branch per channel type, with that type's
    # settings (control/notifications/config.py), so the document says what is accepted.
    schema["oneOf"] = [
        {
            "properties": {
                "type": {"const": kind.value},
                "config": model.model_json_schema(by_alias=True, ref_template=CONFIG_REF),
            }
        }
        for kind, model in channel_config.MODELS.items()
    ]


class ChannelCreate(BodyModel):
    """A channel; ``config`` depends on ``type``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_config_by_type)

    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    type: ChannelTypeName
    config: dict[str, Any] = Field(description=CONFIG_HELP)
    events: list[EventName] = Field(
        default_factory=lambda: cast("list[EventName]", list(EVENTS)),  # EventName spells EVENTS
        max_length=len(EVENTS),
        description="Events routed to the channel (default: all).",
    )
    min_severity: SeverityName = "warning"
    enabled: StrictBool = True
    dedup_window_seconds: DedupWindow = WINDOW


class ChannelPatch(PatchModel):
    """Fields to change. ``config`` is merged over the stored one: an omitted secret is
    kept, a given one replaced, ``null`` removes an optional key. The type is fixed."""

    # constraints inside the type: on the union pydantic would not put them in the schema
    name: (
        Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]
        | SkipJsonSchema[None]
    ) = None
    config: dict[str, Any] | SkipJsonSchema[None] = Field(
        None, description=CONFIG_HELP, json_schema_extra=_partial_configs()
    )
    events: Annotated[list[EventName], Field(max_length=len(EVENTS))] | SkipJsonSchema[None] = None
    min_severity: SeverityName | SkipJsonSchema[None] = None
    enabled: StrictBool | SkipJsonSchema[None] = None
    dedup_window_seconds: DedupWindow | SkipJsonSchema[None] = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise Invalid("cannot be null")
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

    channel_id: RowId | None = Field(None, description="Deliveries to this channel.")
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
