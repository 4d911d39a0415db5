"""Notification channels and their delivery history."""

from __future__ import annotations

from enum import StrEnum

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import EnumField, JSONField


class ChannelType(StrEnum):
    """How a channel delivers: the Telegram Bot API, SMTP or a signed JSON POST."""

    TELEGRAM = "telegram"
    EMAIL = "email"
    WEBHOOK = "webhook"


class Severity(StrEnum):
    """How bad an event is; a channel takes events at or above its minimum."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order for comparisons: info 0 … critical 3."""
        return list(Severity).index(self)


class DeliveryStatus(StrEnum):
    """queued → sending → sent, or back to queued for a retry, or failed for good."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class NotificationChannel(BaseModel):
    """Where notifications go; secrets live encrypted in ``secrets``, never in ``config``."""

    id = AutoField()
    name = CharField(max_length=100, unique=True)
    type = EnumField(ChannelType)
    config = JSONField(default=dict)  # the non-secret settings of the type
    secrets = TextField(null=True)  # Fernet token of {"bot_token"|"password"|"secret": …}
    events = JSONField(default=list)
    min_severity = EnumField(Severity, default=Severity.WARNING)
    enabled = BooleanField(default=True)
    dedup_window_seconds = IntegerField(default=300)
    created = DateTimeField(default=utcnow)
    updated = DateTimeField(default=utcnow)

    class Meta:
        table_name = "notification_channel"


class NotificationDelivery(BaseModel):
    """One notification to one channel and how sending it went.

    The channel link is cleared when the channel is deleted; ``channel_name`` keeps the
    history readable.
    """

    id = AutoField()
    channel = ForeignKeyField(
        NotificationChannel, column_name="channel_id", null=True, on_delete="SET NULL"
    )
    channel_id: int | None  # the key's raw value, which peewee adds beside ``channel``
    channel_name = CharField(max_length=100)
    event = CharField(max_length=64)
    severity = EnumField(Severity)
    title = CharField(max_length=200)
    body = TextField(default="")
    data = JSONField(default=dict)
    dedup_key = CharField(max_length=255, null=True)
    status = EnumField(DeliveryStatus, default=DeliveryStatus.QUEUED)
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)
    latency_ms = IntegerField(null=True)
    created = DateTimeField(default=utcnow)
    updated = DateTimeField(default=utcnow)  # last (re)queue or attempt: the stale sweep
    sent_at = DateTimeField(null=True)

    class Meta:
        table_name = "notification_delivery"
        indexes = (
            (("channel", "dedup_key", "created"), False),
            (("status", "updated"), False),
            (("event", "id"), False),
        )
