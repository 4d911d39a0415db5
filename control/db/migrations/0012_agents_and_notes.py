"""Agents' heartbeats and operators' notes on runs (frozen copies).

``agent``: one row per agent name, rewritten every heartbeat (host, groups, slots, the
apps it runs and the apps waiting for a slot, version, last seen). ``run_note``: notes
on a run, newest last.
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

    class Agent(Base):
        name = CharField(max_length=100, primary_key=True)
        host = CharField(max_length=255)
        groups = TextField(default="[]")
        slots = IntegerField(default=0)
        busy = IntegerField(default=0)
        running = TextField(default="[]")
        queued = TextField(default="[]")
        version = CharField(max_length=32, default="")
        started = DateTimeField()
        last_seen = DateTimeField(index=True)

        class Meta:
            table_name = "agent"

    class Runtime(Base):
        id = CharField(max_length=200, primary_key=True)

        class Meta:
            table_name = "runtime"

    class RunNote(Base):
        id = AutoField()
        runtime = ForeignKeyField(Runtime, column_name="runtime_id", on_delete="CASCADE")
        text = TextField()
        author = CharField(max_length=254)
        created = DateTimeField()

        class Meta:
            table_name = "run_note"
            indexes = ((("runtime", "created"), False),)

    db.create_tables([Agent, RunNote])


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_table("run_note"))
    migrator.migrate(migrator.drop_table("agent"))
