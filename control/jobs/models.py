"""Dead jobs: Dramatiq messages that failed for good, across every broker."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, TextField

from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import JSONField


class DeadJob(BaseModel):
    """A message that exhausted its retries (or raised an error its actor ``throws``).

    ``message`` is the encoded original, so it can be enqueued again; ``args`` is the
    redacted copy shown to admins.
    """

    id = AutoField()
    queue = CharField(max_length=128)
    actor = CharField(max_length=128)
    message_id = CharField(max_length=64, index=True)
    args = JSONField(default=dict)  # {"args": [...], "kwargs": {...}}, secrets redacted
    message = TextField()
    error = TextField(null=True)
    failed_at = DateTimeField(default=utcnow, index=True)
    requeued_at = DateTimeField(null=True)

    class Meta:
        table_name = "dead_job"
