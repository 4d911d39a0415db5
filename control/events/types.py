"""The typed events of the control plane and their wire form.

Every event is ``{"type": ..., "timestamp": ..., "data": {...}}``: ``type`` one of
:class:`EventType`, ``timestamp`` ISO 8601 UTC with milliseconds and a ``Z``
(``2025-01-15T07:30:00.000Z``), ``data`` a JSON object whose keys depend on the type
(see ``docs/websockets.md``). The JSON is built once per event and reused for every
subscriber and every WebSocket client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, cast

import orjson

from control.clock import naive_utc

DUMP_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


class EventType(StrEnum):
    """The spec's message types, plus bulk jobs and notifications."""

    APP_STATUS_CHANGED = "app.status_changed"
    APP_COMMAND_SENT = "app.command_sent"
    APP_FATAL = "app.fatal"
    APP_HEALTH_CHANGED = "app.health_changed"
    RUNTIME_STARTED = "runtime.started"
    RUNTIME_COMPLETED = "runtime.completed"
    RUNTIME_PROGRESS = "runtime.progress"
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


def event_type(type: EventType | str) -> EventType:
    """``type`` as a member (given one or its value); InvalidEvent for anything else."""
    if isinstance(type, EventType):
        return type
    try:
        return EventType(type)
    except ValueError:
        raise InvalidEvent(f"unknown event type {type!r}") from None


def serialisable(events: Iterable[Event]) -> bool:
    """Whether every event's data serialises to JSON, checked in one call for a batch.

    The wire form adds only the type and the timestamp, which always serialise; the
    events' JSON itself is left to be built when (and if) a reader needs it.
    """
    try:
        orjson.dumps([event.data for event in events], option=DUMP_OPTIONS)
    except TypeError:
        return False
    return True


def format_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``; a naive value is taken as UTC."""
    utc = cast(dt.datetime, naive_utc(moment))  # None only for None
    return utc.isoformat(timespec="milliseconds") + "Z"


_last_timestamp: tuple[dt.datetime | None, str] = (None, "")


def _timestamp_text(moment: dt.datetime) -> str:
    # the events of a batch (Event.many) share one timestamp: format it once, not per event
    global _last_timestamp
    last, text = _last_timestamp  # one tuple: read and replaced whole, safe across threads
    if last is not moment:
        text = format_timestamp(moment)
        _last_timestamp = (moment, text)
    return text


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
        return cls(event_type(type), dict(data or {}))

    @classmethod
    def many(
        cls,
        type: EventType | str,
        datas: Iterable[Mapping[str, Any]],
        timestamp: dt.datetime | None = None,
    ) -> list[Event]:
        """Events of ``type``, one per mapping of ``datas``, all happening at ``timestamp``.

        ``timestamp`` defaults to now. Unlike :meth:`of` the mappings are taken as they
        are, not copied: the caller hands them over (a batch of freshly built dicts) and
        must not change them afterwards. Built without the dataclass ``__init__``, which
        costs more than the rest of an event's making on a hot path (a log record each).
        """
        kind = event_type(type)
        moment = utc_now() if timestamp is None else timestamp
        new = object.__new__
        events = []
        for data in datas:
            event = new(cls)
            event.__dict__.update(type=kind, data=data, timestamp=moment)
            events.append(event)
        return events

    def as_dict(self) -> dict[str, Any]:
        """The wire form as a dict."""
        return {
            "type": self.type.value,
            "timestamp": _timestamp_text(self.timestamp),
            "data": self.data,
        }

    @cached_property
    def json(self) -> str:
        """The wire form as JSON text (computed once; raises TypeError if unserialisable)."""
        return orjson.dumps(self.as_dict(), option=DUMP_OPTIONS).decode()

    def to_json(self) -> str:
        """The wire form as JSON text (computed once, then the same text)."""
        # the cache behind ``json``, read and filled without cached_property's lock (two
        # threads building it at once build the same text)
        cache = self.__dict__
        text: str | None = cache.get("json")
        if text is None:
            text = cache["json"] = orjson.dumps(self.as_dict(), option=DUMP_OPTIONS).decode()
        return text

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
