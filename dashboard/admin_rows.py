"""API records of the admin pages -> grid rows and back: channels, deliveries, activity
entries and dead jobs; the channel form's fields <-> the API's channel body."""

from __future__ import annotations

import json
from typing import Any

from dashboard.rows import short_time

SECRET_FLAGS = ("bot_token_set", "password_set", "secret_set")  # the API's "<secret>_set"


def channel_target(channel: dict[str, Any]) -> str:
    """Where the channel sends: its URL, chat or recipients (never a secret)."""
    config = channel.get("config") or {}
    kind = channel.get("type")
    if kind == "webhook":
        return str(config.get("url") or "")
    if kind == "telegram":
        return f"chat {config.get('chat_id', '')}"
    if kind == "email":
        return ", ".join(str(to) for to in config.get("to") or [])
    return ""


def channel_row(channel: dict[str, Any]) -> dict[str, Any]:
    return {
        **channel,
        "row_id": str(channel["id"]),
        "target": channel_target(channel),
        "events_text": ", ".join(channel.get("events") or []),
        "enabled": "yes" if channel.get("enabled") else "no",
        "enabled_flag": bool(channel.get("enabled")),
    }


def editable_config(channel: dict[str, Any]) -> str:
    """The channel's config as the form shows it: without the ``<secret>_set`` flags
    (secrets are write-only, so they are left out and kept by a PATCH)."""
    config = {k: v for k, v in (channel.get("config") or {}).items() if k not in SECRET_FLAGS}
    return json.dumps(config, indent=1)


class FormError(ValueError):
    """The channel form cannot become a request body; the message says why."""


def channel_body(
    name: str | None,
    kind: str | None,
    config_text: str | None,
    events: list[str] | None,
    severity: str | None,
    enabled: list[str] | None,
) -> dict[str, Any]:
    """The form's fields as the API's channel body (the API validates every field)."""
    if not (name or "").strip():
        raise FormError("Give the channel a name.")
    try:
        config = json.loads(config_text or "{}")
    except json.JSONDecodeError as exc:
        raise FormError(f"Config is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    if not isinstance(config, dict):
        raise FormError('Config must be a JSON object, e.g. {"url": "https://…"}.')
    return {
        "name": (name or "").strip(),
        "type": kind or "webhook",
        "config": config,
        "events": list(events or []),
        "min_severity": severity or "warning",
        "enabled": "on" in (enabled or []),
    }


def delivery_row(delivery: dict[str, Any]) -> dict[str, Any]:
    return {
        **delivery,
        "created": short_time(delivery.get("created")),
        "sent_at": short_time(delivery.get("sent_at")),
        "last_error": delivery.get("last_error") or "",
    }


def activity_row(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "at": short_time(entry.get("at"))}


def dead_job_row(job: dict[str, Any]) -> dict[str, Any]:
    return {
        **job,
        "row_id": str(job["id"]),
        "failed_at": short_time(job.get("failed_at")),
        "requeued_at": short_time(job.get("requeued_at")),
        "args_text": json.dumps(job.get("args") or {}, separators=(",", ":")),
        "error": job.get("error") or "",
    }


def activity_filters(
    actor: str | None, action: str | None, outcome: str | None, since: str | None, to: str | None
) -> dict[str, str]:
    """The feed's query parameters from the filter boxes (blank ones left out)."""
    values = {"actor": actor, "action": action, "outcome": outcome, "from": since, "to": to}
    return {k: v.strip() for k, v in values.items() if v and v.strip()}
