"""Bulk jobs record when they last made progress (``progressed_at``).

A job left ``running`` with no progress for longer than its time limit plus a margin was
stranded (a lost retry, a worker that gave up with the database down, a time limit on the
last attempt): the stale-job sweep sends it again, and the per-app result rows keep any
app from being commanded twice.
"""

from peewee import Database, DateTimeField
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.add_column("bulk_job", "progressed_at", DateTimeField(null=True)))


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_column("bulk_job", "progressed_at"))
