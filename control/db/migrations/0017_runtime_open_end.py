"""The activity figures count the runs finished in a period by their end, or by their
start for a run that has none (issue 17, bench/fleet_scale.py ``activity stats``): a
partial index ``runtime_started_open_end`` holds only the runs without an end, so that
second count reads a handful of index entries instead of every run started in the
period. The first count is answered by ``runtime (status, ended)`` (migration 0014).

SQLite, PostgreSQL and SQL Server (a filtered index) all take the ``WHERE``.
"""

from peewee import CharField, Database, DateTimeField, Model
from playhouse.migrate import SchemaMigrator

INDEX = "runtime_started_open_end"


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Runtime(Model):
        id = CharField(max_length=200, primary_key=True)
        started = DateTimeField()
        ended = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "runtime"

    Runtime.add_index(Runtime.index(Runtime.started, name=INDEX, where=Runtime.ended.is_null()))
    # the table exists (IF NOT EXISTS: no-op); only its declared index is new
    db.create_tables([Runtime], safe=True)


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_index("runtime", INDEX))
