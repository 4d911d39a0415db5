"""The core tables shared with the fleet's managers.

Columns follow the spec's Program Manager table and detail view. Schema changes go
through ``control/db/migrations``; these classes describe the current schema and are
never used to create tables on a live database.
"""

from __future__ import annotations

import datetime as dt

from peewee import (
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
    TextField,
)

from control.db.database import database
from control.db.fields import EnumField, JSONField
from control.enums import CommandFlag, FatalFlag, PipelineStatus, RunStatus, RuntimeStatus


def utcnow() -> dt.datetime:
    """Naive UTC now: every timestamp column holds UTC without a zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as the columns hold it: an aware time converted to UTC, its zone
    dropped; a time without a zone is taken as UTC already."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


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


class Runtime(BaseModel):
    """One run of an app: ``20250115_073000_scraper_company_registry``."""

    id = CharField(max_length=200, primary_key=True)
    app = ForeignKeyField(Apps, column_name="app_id", on_delete="CASCADE")
    started = DateTimeField(default=utcnow)
    ended = DateTimeField(null=True)
    status = EnumField(RuntimeStatus, default=RuntimeStatus.RUNNING)
    trigger = CharField(max_length=16, default="schedule")  # schedule | command
    records_total = BigIntegerField(default=0)
    records_solved = BigIntegerField(default=0)
    records_failed = BigIntegerField(default=0)
    error = TextField(null=True)
    host = CharField(max_length=255, null=True)
    heartbeat = DateTimeField(null=True)

    class Meta:
        table_name = "runtime"
        indexes = (
            (("app", "started"), False),
            (("status", "started"), False),
            (("started",), False),
        )


class Logs(BaseModel):
    """An application log record; ``level`` is the numeric Python level."""

    id = AutoField()
    app = CharField(max_length=128, column_name="app_id")
    runtime = CharField(max_length=200, column_name="runtime_id", null=True)
    level = SmallIntegerField()
    module = CharField(max_length=200, default="")
    function = CharField(max_length=200, default="")
    message = TextField()
    timestamp = DateTimeField(default=utcnow)

    class Meta:
        table_name = "logs"
        indexes = (
            (("app", "timestamp"), False),
            (("level", "timestamp"), False),
            (("runtime", "id"), False),
            (("timestamp",), False),
        )


class PipelineTask(BaseModel):
    """A document moving through a pipeline's stages (e.g. OCR, NER)."""

    id = AutoField()
    app = CharField(max_length=128, column_name="app_id", index=True)
    runtime = CharField(max_length=200, column_name="runtime_id", null=True)
    document_type = CharField(max_length=64)
    document_ref = CharField(max_length=255)
    stage = CharField(max_length=32)
    status = EnumField(PipelineStatus, default=PipelineStatus.PENDING)
    retries = IntegerField(default=0)
    error = TextField(null=True)
    error_stage = CharField(max_length=32, null=True)
    stage_durations = JSONField(default=dict)  # {stage: seconds}
    duration_seconds = FloatField(null=True)
    created = DateTimeField(default=utcnow)
    started = DateTimeField(null=True)
    ended = DateTimeField(null=True)
    updated = DateTimeField(default=utcnow)

    class Meta:
        table_name = "pipeline_task"
        indexes = (
            (("document_type", "created"), False),
            (("status", "created"), False),
            (("stage",), False),
            (("created",), False),
        )


class FunctionLog(BaseModel):
    """One timed call of an app function: runtime, task size, solved and failed items."""

    id = AutoField()
    app = CharField(max_length=128, column_name="app_id")
    runtime = CharField(max_length=200, column_name="runtime_id", null=True)
    function_name = CharField(max_length=200)
    module = CharField(max_length=200, default="")
    started = DateTimeField(default=utcnow)
    runtime_seconds = FloatField()
    task_size = BigIntegerField(default=0)
    solved = BigIntegerField(default=0)
    failed = BigIntegerField(default=0)

    class Meta:
        table_name = "function_log"
        indexes = (
            (("app", "started"), False),
            (("function_name", "started"), False),
            (("runtime",), False),
            (("started",), False),
        )


CORE_MODELS = (Apps, Runtime, Logs, PipelineTask, FunctionLog)


def all_models() -> list[type[BaseModel]]:
    """Every table the migrations create, in dependency order (for tests and tools)."""
    from control.audit.models import AuditLog
    from control.auth.models import ApiKey, RefreshToken, RevokedToken, ServiceClient, User
    from control.bulk.models import BulkJob, BulkJobItem
    from control.commands.models import Command, Outbox
    from control.jobs.models import DeadJob
    from control.notifications.models import NotificationChannel, NotificationDelivery
    from control.scheduler.lock import SchedulerTick
    from control.system.metrics import SystemMetric
    from control.system.runtime_config import RuntimeSetting

    return [
        *CORE_MODELS,
        User,
        ServiceClient,
        ApiKey,
        RefreshToken,
        RevokedToken,
        AuditLog,
        Command,
        Outbox,
        NotificationChannel,
        NotificationDelivery,
        DeadJob,
        SystemMetric,
        RuntimeSetting,
        SchedulerTick,
        BulkJob,
        BulkJobItem,
    ]
