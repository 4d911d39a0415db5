"""Bulk jobs can be cancelled (``cancelled_by``: who did) and paced (``rate``: apps per
second at most).

The status column takes the new value ``cancelled`` as it is (its width fits it).
"""

from peewee import CharField, Database, FloatField
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.add_column("bulk_job", "cancelled_by", CharField(max_length=254, null=True)),
        migrator.add_column("bulk_job", "rate", FloatField(null=True)),
    )


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.drop_column("bulk_job", "rate"),
        migrator.drop_column("bulk_job", "cancelled_by"),
    )
