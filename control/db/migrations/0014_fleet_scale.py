"""Fleet scale (issue 17, bench/fleet_scale.py): the hourly rollup of the function log
(``function_hour``, written by the ``roll_up_functions`` maintenance actor, with its
mark in ``rollup_mark``), and indexes that answer the period figures from the index:
``runtime (status, ended)`` (runs finished since), ``audit_log (at, action, outcome,
actor)`` (activity figures), ``pipeline_task_created_figures`` (throughput and the
stage matrix), ``pipeline_task (status, ended)`` (the failures of a period).

The indexes are created from models that declare them as the application's models do,
so they carry the same names on every dialect.
"""

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    Database,
    DateTimeField,
    FloatField,
    Model,
)
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class FunctionHour(Base):
        id = AutoField()
        hour = DateTimeField()
        function_name = CharField(max_length=200)
        calls = BigIntegerField()
        runtime_sum = FloatField()
        runtime_max = FloatField()
        task_size = BigIntegerField()
        solved = BigIntegerField()
        failed = BigIntegerField()

        class Meta:
            table_name = "function_hour"
            indexes = ((("hour", "function_name"), True),)

    class RollupMark(Base):
        name = CharField(max_length=64, primary_key=True)
        rolled_until = DateTimeField()
        updated = DateTimeField()

        class Meta:
            table_name = "rollup_mark"

    db.create_tables([FunctionHour, RollupMark])

    class Runtime(Base):
        status = CharField(max_length=16)
        ended = DateTimeField(null=True)

        class Meta:
            table_name = "runtime"
            indexes = ((("status", "ended"), False),)

    class AuditLog(Base):
        at = DateTimeField()
        action = CharField(max_length=64)
        outcome = CharField(max_length=16)
        actor = CharField(max_length=254)

        class Meta:
            table_name = "audit_log"
            indexes = ((("at", "action", "outcome", "actor"), False),)

    class PipelineTask(Base):
        created = DateTimeField()
        document_type = CharField(max_length=64)
        status = CharField(max_length=16)
        stage = CharField(max_length=32)
        duration_seconds = FloatField(null=True)
        ended = DateTimeField(null=True)

        class Meta:
            table_name = "pipeline_task"
            indexes = ((("status", "ended"), False),)

    PipelineTask.add_index(
        PipelineTask.index(
            PipelineTask.created,
            PipelineTask.document_type,
            PipelineTask.status,
            PipelineTask.stage,
            PipelineTask.duration_seconds,
            name=FIGURES_INDEX,
        )
    )
    # the tables exist (IF NOT EXISTS: no-op); only their declared indexes are new
    db.create_tables([Runtime, AuditLog, PipelineTask], safe=True)


FIGURES_INDEX = "pipeline_task_created_figures"
INDEXES = (
    ("runtime", "runtime_status_ended"),
    ("audit_log", "audit_log_at_action_outcome_actor"),
    ("pipeline_task", FIGURES_INDEX),
    ("pipeline_task", "pipeline_task_status_ended"),
)


def down(migrator: SchemaMigrator, db: Database) -> None:
    for table, name in INDEXES:
        migrator.migrate(migrator.drop_index(table, name))
    for table in ("rollup_mark", "function_hour"):
        migrator.migrate(migrator.drop_table(table))
