"""The audit log table and its hourly rollups."""

from __future__ import annotations

from peewee import AutoField, BigIntegerField, CharField, DateTimeField, IntegerField

from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import JSONField


class AuditLog(BaseModel):
    """One audited action: every write, denied writes, and authentication events."""

    id = AutoField()
    at = DateTimeField(default=utcnow)
    actor = CharField(max_length=254, default="anonymous")  # email, client id or key prefix
    actor_type = CharField(max_length=16, default="anonymous")  # user | service | api_key
    role = CharField(max_length=16, null=True)
    ip = CharField(max_length=64, null=True)
    action = CharField(max_length=64)  # e.g. apps.start, auth.login_failed
    method = CharField(max_length=8, null=True)
    endpoint = CharField(max_length=255, null=True)
    summary = JSONField(default=dict)  # request summary, secrets redacted
    status = IntegerField(null=True)
    outcome = CharField(max_length=16)  # success | denied | failed | error
    request_id = CharField(max_length=128, null=True)

    class Meta:
        table_name = "audit_log"
        indexes = (
            (("at",), False),
            (("actor", "at"), False),
            (("action", "at"), False),
            # the figures of a period read from the index alone
            (("at", "action", "outcome", "actor"), False),
        )


class AuditActionHour(BaseModel):
    """The audit rows counted per hour, action and outcome (``control.audit.rollup``)."""

    id = AutoField()
    hour = DateTimeField()  # the start of the hour, naive UTC
    action = CharField(max_length=64)
    outcome = CharField(max_length=16)
    rows = BigIntegerField()

    class Meta:
        table_name = "audit_action_hour"
        indexes = ((("hour", "action", "outcome"), True),)


class AuditActorHour(BaseModel):
    """The audit rows counted per hour and actor (``control.audit.rollup``)."""

    id = AutoField()
    hour = DateTimeField()  # the start of the hour, naive UTC
    actor = CharField(max_length=254)
    rows = BigIntegerField()

    class Meta:
        table_name = "audit_actor_hour"
        indexes = ((("hour", "actor"), True),)
