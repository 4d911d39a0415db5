"""The scheduler's double-fire guard without Redis (frozen copy).

One row per fired ``(job, tick)``; the composite primary key makes a second replica's
insert of the same tick fail. Old rows are pruned by the scheduler.
"""

from peewee import CharField, CompositeKey, Database, DateTimeField, IntegerField, Model
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class SchedulerTick(Base):
        job = CharField(max_length=64)
        tick = IntegerField()
        fired_at = DateTimeField(index=True)

        class Meta:
            table_name = "scheduler_tick"
            primary_key = CompositeKey("job", "tick")

    db.create_tables([SchedulerTick])


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_table("scheduler_tick"))
