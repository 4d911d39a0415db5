"""How far each hourly rollup is written (``control.rollups.hourly``)."""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField

from control.clock import utcnow
from control.db.base import BaseModel


class RollupMark(BaseModel):
    """How far a rollup is complete: its hours before ``rolled_until`` are written, by
    the run that began at ``updated``; a rollup of rows by id holds those up to
    ``rolled_id``."""

    name = CharField(max_length=64, primary_key=True)
    rolled_until = DateTimeField()
    updated = DateTimeField(default=utcnow)
    rolled_id = BigIntegerField(null=True)

    class Meta:
        table_name = "rollup_mark"
