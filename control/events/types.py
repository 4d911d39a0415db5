"""The typed events of the control plane and their wire form.

Every event is ``{"type": ..., "timestamp": ..., "data": {...}}``: ``type`` one of
:class:`EventType`, ``timestamp`` ISO 8601 UTC with milliseconds and a ``Z``
(``2025-01-15T07:30:00.000Z``), ``data`` a JSON object whose keys depend on the type
(see ``docs/websockets.md``). The JSON is built once per event and reused for every
subscriber and every WebSocket client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

import orjson

from control.db.models import naive_utc

DUMP_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


class EventType(StrEnum):
    """The spec's message types, plus bulk jobs and notifications."""

    APP_STATUS_CHANGED = "app.status_changed"
    APP_COMMAND_SENT = "app.command_sent"
    APP_FATAL = "app.fatal"
    RUNTIME_STARTED = "runtime.started"
    RUNTIME_COMPLETED = "runtime.completed"
    LOG_ENTRY = "log.entry"
    SYSTEM_METRIC = "system.metric"
    PIPELINE_TASK_UPDATED = "pipeline.task_updated"
    BULK_JOB_UPDATED = "bulk.job_updated"
    NOTIFICATION_SENT = "notification.sent"


class InvalidEvent(ValueError):
    """Raised when a payload is not an event of a known type."""


def utc_now() -> dt.datetime:
    """Aware UTC now."""
    return dt.datetime.now(dt.UTC)


def format_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``; a naive value is taken as UTC."""
    return naive_utc(moment).isoformat(timespec="milliseconds") + "Z"


def parse_timestamp(text: str) -> dt.datetime:
    """The aware UTC datetime of an ISO 8601 timestamp (``Z`` or an offset)."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class Event:
    """One event: its type, when it happened (aware UTC) and its data."""

    type: EventType
    data: Mapping[str, Any]
    timestamp: dt.datetime = field(default_factory=utc_now)

    @classmethod
    def of(cls, type: EventType | str, data: Mapping[str, Any] | None = None) -> Event:
        """An event of ``type`` (a member or its value) happening now."""
        try:
            kind = EventType(type)
        except ValueError:
            raise InvalidEvent(f"unknown event type {type!r}") from None
        return cls(kind, dict(data or {}))

    def as_dict(self) -> dict[str, Any]:
        """The wire form as a dict."""
        return {
            "type": self.type.value,
            "timestamp": format_timestamp(self.timestamp),
            "data": self.data,
        }

    @cached_property
    def json(self) -> str:
        """The wire form as JSON text (computed once; raises TypeError if unserialisable)."""
        return orjson.dumps(self.as_dict(), option=DUMP_OPTIONS).decode()

    def to_json(self) -> str:
        """The wire form as JSON text."""
        return self.json

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        """Parse the wire form; InvalidEvent for anything else. Keeps ``raw`` as its JSON."""
        try:
            body = orjson.loads(raw)
            kind = EventType(body["type"])
            data = body["data"]
            moment = parse_timestamp(body["timestamp"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InvalidEvent(f"not an event: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise InvalidEvent("event data must be an object")
        event = cls(kind, data, moment)
        event.__dict__["json"] = raw if isinstance(raw, str) else raw.decode()
        return event
