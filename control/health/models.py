"""The health tables: each app's baseline, and the verdicts raised and cleared on it."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, FloatField, ForeignKeyField, IntegerField

from control.apps.models import Apps
from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import JSONField


class AppBaseline(BaseModel):
    """An app's baseline from its last N completed runs, kept current as runs end.

    ``samples`` holds those runs, oldest first, as ``[runtime id, seconds, records]``;
    the percentiles are recomputed from it at each run's end (never from the history).
    A run is judged against the baseline of the runs before it, then joins it.
    """

    app = ForeignKeyField(Apps, primary_key=True, column_name="app_id", on_delete="CASCADE")
    app_id: str
    samples = JSONField(default=list)
    runs = IntegerField(default=0)
    duration_p50 = FloatField(null=True)
    duration_p95 = FloatField(null=True)
    records_p50 = FloatField(null=True)
    # the app's last finished run as judged when it ended: runtime, status, seconds,
    # records, ended, and the evidence of ``slow`` / ``low_output`` (None when normal)
    last_run = JSONField(null=True)
    updated = DateTimeField(default=utcnow)

    class Meta:
        table_name = "app_baseline"


class HealthVerdict(BaseModel):
    """One verdict on an app: raised, then cleared (``cleared_at`` NULL while it holds)."""

    id = AutoField()
    app = ForeignKeyField(Apps, column_name="app_id", on_delete="CASCADE")
    app_id: str
    verdict = CharField(max_length=16)
    raised_at = DateTimeField(default=utcnow)
    cleared_at = DateTimeField(null=True)
    evidence = JSONField(default=dict)

    class Meta:
        table_name = "health_verdict"
        indexes = (
            (("app", "raised_at"), False),
            (("cleared_at", "verdict"), False),
        )
