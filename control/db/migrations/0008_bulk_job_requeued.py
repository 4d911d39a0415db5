"""Bulk jobs remember when the sweep last re-sent them (``requeued_at``).

A job left ``queued`` (its message never reached the broker, or was lost) is re-sent by
``requeue_stale_bulk_jobs``; the column keeps the sweep from re-sending it again before
the worker had its chance.
"""

from peewee import Database, DateTimeField
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.add_column("bulk_job", "requeued_at", DateTimeField(null=True)))


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_column("bulk_job", "requeued_at"))
