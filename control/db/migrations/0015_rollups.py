"""Fleet-scale aggregates (issue 17): the hourly rollups of the pipeline tasks
(``pipeline_hour``, the ``roll_up_pipelines`` actor) and of the audit log
(``audit_action_hour`` and ``audit_actor_hour``, the ``roll_up_audit`` actor), with their
marks in ``rollup_mark``; every call summed per function and app (``function_pair``, the
``roll_up_function_pairs`` actor, up to the id in ``rollup_mark.rolled_id``);
``pipeline_task (updated)``, the tasks changed since a rollup run;
``function_log_longest`` and ``function_log_pair_figures``, the slowest functions
(``control/performance/slowest.py``).

Declared as the application's models declare them, so the indexes carry the same names
on every dialect.
"""

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    Database,
    DateTimeField,
    DoubleField,
    FloatField,
    Model,
)
from playhouse.migrate import SchemaMigrator

TABLES = ("function_pair", "audit_actor_hour", "audit_action_hour", "pipeline_hour")
INDEXES = (
    ("pipeline_task", "pipeline_task_updated"),
    ("function_log", "function_log_longest"),
    ("function_log", "function_log_pair_figures"),
)


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class PipelineHour(Base):
        id = AutoField()
        hour = DateTimeField()
        document_type = CharField(max_length=64)
        stage = CharField(max_length=32)
        status = CharField(max_length=16)
        tasks = BigIntegerField()
        duration_sum = FloatField()
        durations = BigIntegerField()

        class Meta:
            table_name = "pipeline_hour"
            indexes = ((("hour", "document_type", "stage", "status"), True),)

    class AuditActionHour(Base):
        id = AutoField()
        hour = DateTimeField()
        action = CharField(max_length=64)
        outcome = CharField(max_length=16)
        rows = BigIntegerField()

        class Meta:
            table_name = "audit_action_hour"
            indexes = ((("hour", "action", "outcome"), True),)

    class AuditActorHour(Base):
        id = AutoField()
        hour = DateTimeField()
        actor = CharField(max_length=254)
        rows = BigIntegerField()

        class Meta:
            table_name = "audit_actor_hour"
            indexes = ((("hour", "actor"), True),)

    class FunctionPair(Base):
        id = AutoField()
        function_name = CharField(max_length=200)
        app = CharField(max_length=128, column_name="app_id")
        calls = BigIntegerField()
        avg_runtime = DoubleField()  # as exact as the averages it ranks by

        class Meta:
            table_name = "function_pair"
            indexes = (
                (("function_name", "app"), True),
                (("avg_runtime",), False),
            )

    db.create_tables([PipelineHour, AuditActionHour, AuditActorHour, FunctionPair])
    migrator.migrate(migrator.add_column("rollup_mark", "rolled_id", BigIntegerField(null=True)))

    class PipelineTask(Base):
        updated = DateTimeField()

        class Meta:
            table_name = "pipeline_task"
            indexes = ((("updated",), False),)

    class FunctionLog(Base):
        app = CharField(max_length=128, column_name="app_id")
        function_name = CharField(max_length=200)
        started = DateTimeField()
        runtime_seconds = FloatField()
        task_size = BigIntegerField()

        class Meta:
            table_name = "function_log"

    FunctionLog.add_index(
        FunctionLog.index(
            FunctionLog.runtime_seconds,
            FunctionLog.started,
            FunctionLog.function_name,
            FunctionLog.app,
            name="function_log_longest",
        )
    )
    FunctionLog.add_index(
        FunctionLog.index(
            FunctionLog.function_name,
            FunctionLog.app,
            FunctionLog.started,
            FunctionLog.runtime_seconds,
            FunctionLog.task_size,
            name="function_log_pair_figures",
        )
    )
    # the tables exist (IF NOT EXISTS: no-op); only their declared indexes are new
    db.create_tables([PipelineTask, FunctionLog], safe=True)


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_column("rollup_mark", "rolled_id"))
    for table, name in INDEXES:
        migrator.migrate(migrator.drop_index(table, name))
    for table in TABLES:
        migrator.migrate(migrator.drop_table(table))
