"""The scheduler's table: fired ticks, the double-fire guard without Redis."""

from __future__ import annotations

from peewee import CharField, CompositeKey, DateTimeField, IntegerField

from control.clock import utcnow
from control.db.base import BaseModel


class SchedulerTick(BaseModel):
    """One fired tick of a periodic job (the double-fire guard without Redis)."""

    job = CharField(max_length=64)
    tick = IntegerField()
    fired_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "scheduler_tick"
        primary_key = CompositeKey("job", "tick")
