"""The logs table: the apps' log records."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, Field, SmallIntegerField, TextField

from control.clock import utcnow
from control.db.base import BaseModel


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


class _WordVector(Field):
    field_type = "TSVECTOR"


# PostgreSQL only: ``to_tsvector('simple', message)``, a stored generated column with its
# GIN index (migration 0016). Bound to Logs for queries but not one of its fields, so
# rows never read it and the other dialects never name it.
MESSAGE_WORDS = _WordVector(column_name="message_tsv")
MESSAGE_WORDS.bind(Logs, "message_tsv", set_attribute=False)
