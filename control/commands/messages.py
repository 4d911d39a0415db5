"""The wire format of a command: routing key, JSON body and headers (docs/commands.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

EXCHANGE = "dc.commands"
EXCHANGE_TYPE = "topic"
FORMAT_VERSION = 1
CONTENT_TYPE = "application/json"
MAX_ROUTING_KEY_BYTES = 255  # AMQP's limit


def routing_word(name: str) -> str:
    """One routing-key word: dots would split it into several, so they become '_'."""
    return name.replace(".", "_") or "_"


def routing_key(group: str, parent: str, app_id: str) -> str:
    """``<group>.<parent>.<app_id>``, each word dot-free, cut to 255 bytes if ever longer."""
    key = ".".join(routing_word(part) for part in (group, parent, app_id))
    raw = key.encode()
    if len(raw) > MAX_ROUTING_KEY_BYTES:
        key = raw[:MAX_ROUTING_KEY_BYTES].decode(errors="ignore")
    return key


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 with a ``Z``: timestamps are stored as naive UTC."""
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def command_body(
    *,
    command_id: str,
    command: str,
    app_id: str,
    group: str,
    parent: str,
    requested_at: dt.datetime,
    requested_by: str,
) -> bytes:
    """The JSON body of a command message (version 1)."""
    body: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "command_id": command_id,
        "command": command,
        "app_id": app_id,
        "group": group,
        "parent": parent,
        "requested_at": iso_utc(requested_at),
        "requested_by": requested_by,
    }
    return orjson.dumps(body)


def command_headers(command: str, app_id: str) -> dict[str, str]:
    """AMQP headers repeating the body's essentials, for header filters and tracing."""
    return {"dc-kind": "command", "dc-command": command, "dc-app-id": app_id}
