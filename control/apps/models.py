"""The app table: one data-collection app and its live state.

Columns follow the spec's Program Manager table and detail view.
"""

from __future__ import annotations

from peewee import BigIntegerField, BooleanField, CharField, DateTimeField, IntegerField, TextField

from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import EnumField, JSONField
from control.enums import CommandFlag, FatalFlag, RunStatus


class Apps(BaseModel):
    """One data-collection app and its live state."""

    id = CharField(max_length=128, primary_key=True)
    group = CharField(max_length=64, column_name="group_name", index=True)
    parent = CharField(max_length=64, column_name="parent_name")
    app = CharField(max_length=128, column_name="app_name")
    description = TextField(default="")
    settings = JSONField(default=dict)
    schedule = CharField(max_length=120, null=True)  # cron expression
    timezone = CharField(max_length=64, default="UTC")
    next_run = DateTimeField(null=True, index=True)
    run_status = EnumField(RunStatus, default=RunStatus.IDLE, index=True)
    command_flag = EnumField(CommandFlag, default=CommandFlag.NONE)
    command_updated = DateTimeField(null=True)
    fatal_flag = EnumField(FatalFlag, default=FatalFlag.NO_FATAL, index=True)
    fatal_reason = TextField(null=True)
    consecutive_failures = IntegerField(default=0)
    disabled = BooleanField(default=False)
    is_service = BooleanField(default=False)
    progress_current = BigIntegerField(null=True)
    progress_total = BigIntegerField(null=True)
    progress_updated = DateTimeField(null=True)
    current_runtime = CharField(max_length=200, null=True)
    last_runtime = CharField(max_length=200, null=True)
    version = IntegerField(default=1)  # bumped on every configuration write (ETag)
    created = DateTimeField(default=utcnow)
    updated = DateTimeField(default=utcnow)

    class Meta:
        table_name = "apps"
        indexes = ((("group", "parent"), False),)
