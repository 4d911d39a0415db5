"""A bulk job and its per-app results.

``BulkJobItem`` is unique on (job, app): an app with a row was handled, so a redelivered
job never commands it twice (the row is written in the command's own transaction).
"""

from __future__ import annotations

from enum import StrEnum

from peewee import (
    AutoField,
    CharField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import EnumField, JSONField


class BulkStatus(StrEnum):
    """queued → running → completed (or failed when the worker gave up, or cancelled
    when someone stopped it: its apps without a result are skipped "cancelled")."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (BulkStatus.COMPLETED, BulkStatus.FAILED, BulkStatus.CANCELLED)
CANCELLED_REASON = "cancelled"  # the reason on the apps a cancel left unapplied


class BulkOutcome(StrEnum):
    """What happened to one app."""

    APPLIED = "applied"
    SKIPPED = "skipped"  # the command made no sense for the app now (reason says why)
    FAILED = "failed"  # an unexpected error (reason says which)


class BulkJob(BaseModel):
    """One bulk request: its filter, command, progress counts and who asked."""

    id = CharField(max_length=32, primary_key=True)  # uuid4 hex
    command = CharField(max_length=16)  # START STOP RESTART RESET ENABLE DISABLE
    filter = JSONField(default=dict)
    app_ids = JSONField(default=list)  # the apps matched at creation, in order
    status = EnumField(BulkStatus, default=BulkStatus.QUEUED, index=True)
    matched = IntegerField(default=0)
    applied = IntegerField(default=0)
    skipped = IntegerField(default=0)
    failed = IntegerField(default=0)
    error = TextField(null=True)
    requested_by = CharField(max_length=254)
    requester_kind = CharField(max_length=16, default="user")
    idempotency_key = CharField(max_length=255, null=True)
    created = DateTimeField(default=utcnow, index=True)
    started = DateTimeField(null=True)
    finished = DateTimeField(null=True)
    requeued_at = DateTimeField(null=True)  # last re-sent by the stale-job sweep
    progressed_at = DateTimeField(null=True)  # last app handled (or the job taken up)
    cancelled_by = CharField(max_length=254, null=True)
    rate = FloatField(null=True)  # apps per second at most; None: as fast as it goes

    class Meta:
        table_name = "bulk_job"
        indexes = ((("requested_by", "idempotency_key"), True),)


class BulkJobItem(BaseModel):
    """The result for one app of a job."""

    id = AutoField()
    job = ForeignKeyField(BulkJob, column_name="job_id", on_delete="CASCADE")
    app_id = CharField(max_length=128)
    outcome = EnumField(BulkOutcome)
    reason = TextField(null=True)
    command_id = CharField(max_length=32, null=True)
    created = DateTimeField(default=utcnow)

    class Meta:
        table_name = "bulk_job_item"
        indexes = ((("job", "app_id"), True),)
