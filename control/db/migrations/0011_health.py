"""App health: each app's baseline and the verdicts raised on it (frozen copies).

Both rows go with their app (ON DELETE CASCADE).
"""

from peewee import (
    AutoField,
    CharField,
    Database,
    DateTimeField,
    FloatField,
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

    class Apps(Base):  # the existing table, only for the foreign keys
        id = CharField(max_length=128, primary_key=True)

        class Meta:
            table_name = "apps"

    class AppBaseline(Base):
        app = ForeignKeyField(Apps, primary_key=True, column_name="app_id", on_delete="CASCADE")
        samples = TextField(default="[]")
        runs = IntegerField(default=0)
        duration_p50 = FloatField(null=True)
        duration_p95 = FloatField(null=True)
        records_p50 = FloatField(null=True)
        last_run = TextField(null=True)
        updated = DateTimeField()

        class Meta:
            table_name = "app_baseline"

    class HealthVerdict(Base):
        id = AutoField()
        app = ForeignKeyField(Apps, column_name="app_id", on_delete="CASCADE")
        verdict = CharField(max_length=16)
        raised_at = DateTimeField()
        cleared_at = DateTimeField(null=True)
        evidence = TextField(default="{}")

        class Meta:
            table_name = "health_verdict"
            indexes = (
                (("app", "raised_at"), False),
                (("cleared_at", "verdict"), False),
            )

    db.create_tables([AppBaseline, HealthVerdict])


def down(migrator: SchemaMigrator, db: Database) -> None:
    for table in ("health_verdict", "app_baseline"):
        migrator.migrate(migrator.drop_table(table))
