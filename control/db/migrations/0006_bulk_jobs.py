"""Bulk jobs and their per-app results (frozen copies).

(job_id, app_id) is unique: an app with a result row is never commanded again by the
same job, which is what makes a redelivered job safe.
"""

from peewee import (
    AutoField,
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

    class BulkJob(Base):
        id = CharField(max_length=32, primary_key=True)
        command = CharField(max_length=16)
        filter = TextField(default="{}")  # type: ignore[assignment]  # a column named like Model.filter
        app_ids = TextField(default="[]")
        status = CharField(max_length=17, default="queued", index=True)
        matched = IntegerField(default=0)
        applied = IntegerField(default=0)
        skipped = IntegerField(default=0)
        failed = IntegerField(default=0)
        error = TextField(null=True)
        requested_by = CharField(max_length=254)
        requester_kind = CharField(max_length=16, default="user")
        idempotency_key = CharField(max_length=255, null=True)
        created = DateTimeField(index=True)
        started = DateTimeField(null=True)
        finished = DateTimeField(null=True)

        class Meta:
            table_name = "bulk_job"
            indexes = ((("requested_by", "idempotency_key"), True),)

    class BulkJobItem(Base):
        id = AutoField()
        job = ForeignKeyField(BulkJob, column_name="job_id", on_delete="CASCADE")
        app_id = CharField(max_length=128)
        outcome = CharField(max_length=15)
        reason = TextField(null=True)
        command_id = CharField(max_length=32, null=True)
        created = DateTimeField()

        class Meta:
            table_name = "bulk_job_item"
            indexes = ((("job", "app_id"), True),)

    db.create_tables([BulkJob, BulkJobItem])


def down(migrator: SchemaMigrator, db: Database) -> None:
    for table in ("bulk_job_item", "bulk_job"):
        migrator.migrate(migrator.drop_table(table))
