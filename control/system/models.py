"""The system's tables: sampled host metrics and the stored run-time setting overrides."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, FloatField, IntegerField

from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import JSONField


class SystemMetric(BaseModel):
    """One sample of the host's figures."""

    id = AutoField()
    at = DateTimeField(default=utcnow, index=True)
    cpu_percent = FloatField()
    memory_percent = FloatField()
    disk_percent = FloatField()
    load_1 = FloatField(null=True)
    process_count = IntegerField()
    data = JSONField(default=dict)

    class Meta:
        table_name = "system_metric"


class RuntimeSetting(BaseModel):
    """A stored run-time override of one setting (``value`` is its JSON)."""

    key = CharField(max_length=64, primary_key=True)
    value = JSONField()
    updated = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=254)

    class Meta:
        table_name = "runtime_setting"
