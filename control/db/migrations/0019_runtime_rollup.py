"""The hourly rollups of the runtimes (the ``roll_up_runtimes`` actor, its mark in
``rollup_mark``): the runs started per hour (``runtime_start_hour``) and the runs
finished per hour of their end and final status (``runtime_end_hour``), which the
runtime figures of ``GET /activity/stats`` read for their whole hours
(``control/runtimes/rollup.py``).

Declared as the application's models declare them, so the indexes carry the same names
on every dialect.
"""

from peewee import AutoField, BigIntegerField, CharField, Database, DateTimeField, Model
from playhouse.migrate import SchemaMigrator

TABLES = ("runtime_end_hour", "runtime_start_hour")
MARK = "runtime_hour"  # the rollup's row in rollup_mark (control.runtimes.rollup.NAME)


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class RuntimeStartHour(Base):
        id = AutoField()
        hour = DateTimeField()
        runs = BigIntegerField()

        class Meta:
            table_name = "runtime_start_hour"
            indexes = ((("hour",), True),)

    class RuntimeEndHour(Base):
        id = AutoField()
        hour = DateTimeField()
        status = CharField(max_length=16)
        runs = BigIntegerField()

        class Meta:
            table_name = "runtime_end_hour"
            indexes = ((("hour", "status"), True),)

    db.create_tables([RuntimeStartHour, RuntimeEndHour])


def down(migrator: SchemaMigrator, db: Database) -> None:
    class RollupMark(Model):
        name = CharField(max_length=64, primary_key=True)

        class Meta:
            database = db
            table_name = "rollup_mark"

    # a mark left behind would make an up again read the empty tables as rolled hours
    RollupMark.delete().where(RollupMark.name == MARK).execute()
    for table in TABLES:
        migrator.migrate(migrator.drop_table(table))
