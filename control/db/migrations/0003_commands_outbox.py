"""Commands sent to the managers and the transactional outbox (frozen copies).

The outbox's partial index holds only unpublished rows, in insertion order: the relay
reads "oldest unpublished first" from it. SQLite, PostgreSQL and MSSQL (a filtered
index) all support it.
"""

from peewee import AutoField, CharField, Database, DateTimeField, IntegerField, Model, TextField
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Command(Base):
        id = CharField(primary_key=True, max_length=32)
        app = CharField(max_length=128, column_name="app_id")
        command = CharField(max_length=15)
        status = CharField(max_length=20, default="pending")
        requested_by = CharField(max_length=254)
        requested_at = DateTimeField()
        published_at = DateTimeField(null=True)
        acknowledged_at = DateTimeField(null=True)
        acknowledged_by = CharField(max_length=254, null=True)
        bulk_job_id = CharField(max_length=64, null=True, index=True)
        error = TextField(null=True)

        class Meta:
            table_name = "command"
            indexes = ((("app", "requested_at"), False),)

    class Outbox(Base):
        id = AutoField()
        kind = CharField(max_length=32)
        message_id = CharField(max_length=64)
        routing_key = CharField(max_length=255)
        payload = TextField()
        headers = TextField(default="{}")
        created = DateTimeField()
        published_at = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        last_error = TextField(null=True)
        available_at = DateTimeField()

        class Meta:
            table_name = "outbox"
            indexes = ((("message_id",), False),)

    Outbox.add_index(
        Outbox.index(Outbox.id, name="outbox_unpublished", where=Outbox.published_at.is_null())
    )
    db.create_tables([Command, Outbox])


def down(migrator: SchemaMigrator, db: Database) -> None:
    for table in ("outbox", "command"):
        migrator.migrate(migrator.drop_table(table))
