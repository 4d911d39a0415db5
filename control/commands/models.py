"""The command history and the transactional outbox the relay drains."""

from __future__ import annotations

from enum import StrEnum

from peewee import AutoField, CharField, DateTimeField, IntegerField, TextField

from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import EnumField, JSONField
from control.enums import CommandFlag


class CommandStatus(StrEnum):
    """Where a command stands: pending → published → acknowledged, or failed."""

    PENDING = "pending"  # accepted, waiting in the outbox
    PUBLISHED = "published"  # confirmed by the broker (or handed to the in-process transport)
    ACKNOWLEDGED = "acknowledged"  # a manager cleared command_flag or called /ack
    FAILED = "failed"  # superseded by a later command; ``error`` says why


LIVE = (CommandStatus.PENDING, CommandStatus.PUBLISHED)


class Command(BaseModel):
    """One command sent to an app's manager; its id is the message id on the wire."""

    id = CharField(max_length=32, primary_key=True)  # uuid4 hex
    app = CharField(max_length=128, column_name="app_id")
    command = EnumField(CommandFlag)
    status = EnumField(CommandStatus, default=CommandStatus.PENDING)
    requested_by = CharField(max_length=254)
    requested_at = DateTimeField(default=utcnow)
    published_at = DateTimeField(null=True)
    acknowledged_at = DateTimeField(null=True)
    acknowledged_by = CharField(max_length=254, null=True)
    bulk_job_id = CharField(max_length=64, null=True, index=True)
    error = TextField(null=True)

    class Meta:
        table_name = "command"
        indexes = ((("app", "requested_at"), False),)


class Outbox(BaseModel):
    """A message to publish, written in the transaction that decided to send it."""

    id = AutoField()
    kind = CharField(max_length=32)  # "command"
    message_id = CharField(max_length=64)  # the command id: consumers dedupe on it
    routing_key = CharField(max_length=255)
    payload = TextField()  # the JSON body, exactly as published
    headers = JSONField(default=dict)
    created = DateTimeField(default=utcnow)
    published_at = DateTimeField(null=True)
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)
    available_at = DateTimeField(default=utcnow)  # not retried before (backoff)

    class Meta:
        table_name = "outbox"
        indexes = ((("message_id",), False),)


# "Oldest unpublished first": a partial index holding only the rows still to send, in
# insertion order, so the relay's scan stays small however long the history grows.
Outbox.add_index(
    Outbox.index(Outbox.id, name="outbox_unpublished", where=Outbox.published_at.is_null())
)
