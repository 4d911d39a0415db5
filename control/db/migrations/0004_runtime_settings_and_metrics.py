"""Run-time setting overrides and sampled host metrics (frozen copies).

``runtime_setting`` holds the settings an admin changed at run time (one row per
setting, its value as JSON text); ``system_metric`` the host samples, indexed by time.
"""

from peewee import (
    AutoField,
    CharField,
    Database,
    DateTimeField,
    FloatField,
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

    class RuntimeSetting(Base):
        key = CharField(max_length=64, primary_key=True)
        value = TextField()
        updated = DateTimeField()
        updated_by = CharField(max_length=254)

        class Meta:
            table_name = "runtime_setting"

    class SystemMetric(Base):
        id = AutoField()
        at = DateTimeField(index=True)
        cpu_percent = FloatField()
        memory_percent = FloatField()
        disk_percent = FloatField()
        load_1 = FloatField(null=True)
        process_count = IntegerField()
        data = TextField(default="{}")

        class Meta:
            table_name = "system_metric"

    db.create_tables([RuntimeSetting, SystemMetric])


def down(migrator: SchemaMigrator, db: Database) -> None:
    for table in ("system_metric", "runtime_setting"):
        migrator.migrate(migrator.drop_table(table))
