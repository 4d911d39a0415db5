"""Channels: create, list, change and delete, with each type's settings checked.

Secrets are sealed (``secrets.py``) the moment they arrive and never leave through
:func:`item`; a PATCH that omits a secret keeps the stored one, one that gives it
replaces it (``null`` removes an optional one: the SMTP password).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from peewee import IntegrityError

from control.clock import utcnow
from control.db.database import write_transaction
from control.errors import Conflict, NotFound
from control.notifications import config as configs
from control.notifications.interfaces import InvalidChannel
from control.notifications.models import (
    ChannelType,
    NotificationChannel,
    Severity,
)
from control.notifications.secrets import SecretBox, SecretsUnreadable, default_box
from control.querying import Page, paginate

EVENTS = ("app.fatal", "runtime.failed", "pipeline.error_rate", "command.failed", "app.health")
"""The events rules route; a channel subscribes to any of them."""

CHANGEABLE = frozenset(
    {"name", "config", "events", "min_severity", "enabled", "dedup_window_seconds"}
)


def _check_events(events: Iterable[str]) -> list[str]:
    events = list(dict.fromkeys(events))
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidChannel(
            [("events", f"unknown event {unknown[0]!r}; one of {', '.join(EVENTS)}")]
        )
    return events


def item(channel: NotificationChannel, box: SecretBox | None = None) -> dict[str, Any]:
    """The API's view of a channel: no secret, only whether each is set."""
    try:
        names = set((box or default_box()).open(channel.secrets))
    except SecretsUnreadable:
        names = set()
    return {
        "id": channel.id,
        "name": channel.name,
        "type": channel.type.value,
        "config": configs.shown(channel.type, channel.config, names),
        "events": channel.events,
        "min_severity": channel.min_severity.value,
        "enabled": channel.enabled,
        "dedup_window_seconds": channel.dedup_window_seconds,
        "created": channel.created,
        "updated": channel.updated,
    }


def get_channel(channel_id: int) -> NotificationChannel:
    """The channel, or NotFound."""
    channel = NotificationChannel.get_or_none(NotificationChannel.id == channel_id)
    if channel is None:
        raise NotFound(f"No notification channel {channel_id}.")
    return channel


def list_channels(page: int = 1, per_page: int = 100) -> Page:
    """One page of channels, by name."""
    box = default_box()
    query = NotificationChannel.select().order_by(NotificationChannel.name)
    found = paginate(query, page, per_page)
    return Page([item(c, box) for c in found.rows], found.page, found.per_page, found.total)


def _save(channel: NotificationChannel) -> None:
    try:
        with write_transaction():
            channel.save()
    except IntegrityError:
        raise Conflict(f"A channel named {channel.name!r} exists.", field="name") from None


def create_channel(
    *,
    name: str,
    type: ChannelType | str,
    config: dict[str, Any],
    events: Iterable[str] = EVENTS,
    min_severity: Severity | str = Severity.WARNING,
    enabled: bool = True,
    dedup_window_seconds: int = 300,
) -> dict[str, Any]:
    """Create a channel; InvalidChannel names any bad field, Conflict a taken name."""
    kind = ChannelType(type)
    public, secrets = configs.validate(kind, config)
    channel = NotificationChannel(
        name=name,
        type=kind,
        config=public,
        secrets=default_box().seal(secrets),
        events=_check_events(events),
        min_severity=Severity(min_severity),
        enabled=enabled,
        dedup_window_seconds=dedup_window_seconds,
    )
    _save(channel)
    return item(channel)


def update_channel(channel_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes``; a ``config`` is merged over the stored one, then re-checked."""
    channel = get_channel(channel_id)
    box = default_box()
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise InvalidChannel([(sorted(unknown)[0], "cannot be changed")])
    if "config" in changes:
        try:
            stored = box.open(channel.secrets)
        except SecretsUnreadable:
            stored = {}  # a new secret in this PATCH repairs the channel
        merged = {**channel.config, **stored, **changes["config"]}
        merged = {k: v for k, v in merged.items() if v is not None}
        public, secrets = configs.validate(channel.type, merged)
        channel.config, channel.secrets = public, box.seal(secrets)
    if "events" in changes:
        channel.events = _check_events(changes["events"])
    if "min_severity" in changes:
        channel.min_severity = Severity(changes["min_severity"])
    for name in ("name", "enabled", "dedup_window_seconds"):
        if name in changes:
            setattr(channel, name, changes[name])
    channel.updated = utcnow()
    _save(channel)
    return item(channel, box)


def delete_channel(channel_id: int) -> None:
    """Delete a channel; its history stays, under the channel's name."""
    with write_transaction():
        get_channel(channel_id).delete_instance()


def channel_settings(channel: NotificationChannel) -> dict[str, Any]:
    """Public settings and secrets merged, for a sender (raises SecretsUnreadable)."""
    return {**channel.config, **default_box().open(channel.secrets)}
