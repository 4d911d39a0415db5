"""The agent table: one row per agent name, rewritten by its heartbeat."""

from __future__ import annotations

from peewee import CharField, DateTimeField, IntegerField

from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import JSONField


class Agent(BaseModel):
    """What an agent last reported: its host, groups, slots, running and queued apps.

    ``running`` and ``queued`` are lists of app ids (``running`` with its services, which
    take no slot: ``busy`` counts the batch runs); ``queued`` are the apps waiting for
    a free slot (their ``run_status`` is SCHEDULED). Online or not is read from
    ``last_seen`` against ``DC_AGENT_OFFLINE_AFTER_SECONDS``.
    """

    name = CharField(max_length=100, primary_key=True)
    host = CharField(max_length=255)
    groups = JSONField(default=list)
    slots = IntegerField(default=0)
    busy = IntegerField(default=0)  # batch runs in progress (services take no slot)
    running = JSONField(default=list)
    queued = JSONField(default=list)
    version = CharField(max_length=32, default="")
    started = DateTimeField(default=utcnow)
    last_seen = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "agent"
