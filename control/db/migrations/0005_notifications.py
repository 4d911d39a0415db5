"""Notification channels, their delivery history and the dead-job list (frozen copies).

Deleting a channel keeps its history: the delivery's link is set to NULL and its
``channel_name`` stays.
"""

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    Database,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class NotificationChannel(Base):
        id = AutoField()
        name = CharField(max_length=100, unique=True)
        type = CharField(max_length=16)
        config = TextField(default="{}")
        secrets = TextField(null=True)
        events = TextField(default="[]")
        min_severity = CharField(max_length=16, default="warning")
        enabled = BooleanField(default=True)
        dedup_window_seconds = IntegerField(default=300)
        created = DateTimeField()
        updated = DateTimeField()

        class Meta:
            table_name = "notification_channel"

    class NotificationDelivery(Base):
        id = AutoField()
        channel = ForeignKeyField(
            NotificationChannel, column_name="channel_id", null=True, on_delete="SET NULL"
        )
        channel_name = CharField(max_length=100)
        event = CharField(max_length=64)
        severity = CharField(max_length=16)
        title = CharField(max_length=200)
        body = TextField(default="")
        data = TextField(default="{}")
        dedup_key = CharField(max_length=255, null=True)
        status = CharField(max_length=15, default="queued")
        attempts = IntegerField(default=0)
        last_error = TextField(null=True)
        latency_ms = IntegerField(null=True)
        created = DateTimeField()
        updated = DateTimeField()
        sent_at = DateTimeField(null=True)

        class Meta:
            table_name = "notification_delivery"
            indexes = (
                (("channel", "dedup_key", "created"), False),
                (("status", "updated"), False),
                (("event", "id"), False),
            )

    class DeadJob(Base):
        id = AutoField()
        queue = CharField(max_length=128)
        actor = CharField(max_length=128)
        message_id = CharField(max_length=64, index=True)
        args = TextField(default="{}")
        message = TextField()
        error = TextField(null=True)
        failed_at = DateTimeField(index=True)
        requeued_at = DateTimeField(null=True)

        class Meta:
            table_name = "dead_job"

    db.create_tables([NotificationChannel, NotificationDelivery, DeadJob])


def down(migrator: SchemaMigrator, db: Database) -> None:
    for table in ("dead_job", "notification_delivery", "notification_channel"):
        migrator.migrate(migrator.drop_table(table))
