"""The runtime table (one run of an app), its hourly rollups and the operators' notes on
runs."""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    TextField,
)

from control.apps.models import Apps
from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import EnumField
from control.enums import RuntimeStatus


class Runtime(BaseModel):
    """One run of an app: ``20250115_073000_scraper_company_registry``."""

    id = CharField(max_length=200, primary_key=True)
    app = ForeignKeyField(Apps, column_name="app_id", on_delete="CASCADE")
    app_id: str  # the key's raw value, which peewee adds beside ``app``
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
            (("status", "ended"), False),  # runs finished since (activity figures)
            (("started",), False),
        )


# The runs without an end (running, or closed without one): the activity figures count
# those by their start (control/audit/queries.py), from this small index.
Runtime.add_index(
    Runtime.index(Runtime.started, name="runtime_started_open_end", where=Runtime.ended.is_null())
)


class RuntimeStartHour(BaseModel):
    """The runs counted per hour of their start (``control.runtimes.rollup``)."""

    id = AutoField()
    hour = DateTimeField()  # the start of the hour the runs started in, naive UTC
    runs = BigIntegerField()

    class Meta:
        table_name = "runtime_start_hour"
        indexes = ((("hour",), True),)


class RuntimeEndHour(BaseModel):
    """The finished runs (COMPLETED, FAILED) counted per hour of their end (of their
    start for a run without one) and status (``control.runtimes.rollup``)."""

    id = AutoField()
    hour = DateTimeField()  # the start of the hour the runs ended in, naive UTC
    status = CharField(max_length=16)
    runs = BigIntegerField()

    class Meta:
        table_name = "runtime_end_hour"
        indexes = ((("hour", "status"), True),)


class RunNote(BaseModel):
    """An operator's note on a run ("upstream site down"), shown with the run."""

    id = AutoField()
    runtime = ForeignKeyField(Runtime, column_name="runtime_id", on_delete="CASCADE")
    runtime_id: str
    text = TextField()
    author = CharField(max_length=254)
    created = DateTimeField(default=utcnow)

    class Meta:
        table_name = "run_note"
        indexes = ((("runtime", "created"), False),)
