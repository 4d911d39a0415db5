"""The core tables shared with the managers, and full-text search over log messages.

Frozen copies of the models as they were at this version: later model changes must
not change what this migration creates. Enums and JSON are plain text columns.
"""

from peewee import (
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    Database,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
    TextField,
)
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator

SQLITE_FTS = (
    "CREATE VIRTUAL TABLE logs_fts USING fts5("
    "message, content='logs', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER logs_fts_insert AFTER INSERT ON logs BEGIN "
    "INSERT INTO logs_fts(rowid, message) VALUES (new.id, new.message); END",
    "CREATE TRIGGER logs_fts_delete AFTER DELETE ON logs BEGIN "
    "INSERT INTO logs_fts(logs_fts, rowid, message) VALUES ('delete', old.id, old.message); END",
    "CREATE TRIGGER logs_fts_update AFTER UPDATE OF message ON logs BEGIN "
    "INSERT INTO logs_fts(logs_fts, rowid, message) VALUES ('delete', old.id, old.message); "
    "INSERT INTO logs_fts(rowid, message) VALUES (new.id, new.message); END",
)
# 'simple' does no stemming or stop words: fleet logs mix languages and identifiers.
POSTGRES_FTS = ("CREATE INDEX logs_message_fts ON logs USING GIN (to_tsvector('simple', message))",)


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Apps(Base):
        id = CharField(primary_key=True, max_length=128)
        group = CharField(index=True, max_length=64, column_name="group_name")
        parent = CharField(max_length=64, column_name="parent_name")
        app = CharField(max_length=128, column_name="app_name")
        description = TextField(default="")
        settings = TextField(default="{}")
        schedule = CharField(null=True, max_length=120)
        timezone = CharField(max_length=64, default="UTC")
        next_run = DateTimeField(index=True, null=True)
        run_status = CharField(index=True, max_length=17, default="IDLE")
        command_flag = CharField(max_length=15, default="NONE")
        command_updated = DateTimeField(null=True)
        fatal_flag = CharField(index=True, max_length=16, default="NO_FATAL")
        fatal_reason = TextField(null=True)
        consecutive_failures = IntegerField(default=0)
        disabled = BooleanField(default=False)
        is_service = BooleanField(default=False)
        progress_current = BigIntegerField(null=True)
        progress_total = BigIntegerField(null=True)
        progress_updated = DateTimeField(null=True)
        current_runtime = CharField(null=True, max_length=200)
        last_runtime = CharField(null=True, max_length=200)
        version = IntegerField(default=1)
        created = DateTimeField()
        updated = DateTimeField()

        class Meta:
            table_name = "apps"
            indexes = ((("group", "parent"), False),)

    class Runtime(Base):
        id = CharField(primary_key=True, max_length=200)
        app = ForeignKeyField(Apps, column_name="app_id", on_delete="CASCADE")
        started = DateTimeField()
        ended = DateTimeField(null=True)
        status = CharField(max_length=17, default="RUNNING")
        trigger = CharField(max_length=16, default="schedule")
        records_total = BigIntegerField(default=0)
        records_solved = BigIntegerField(default=0)
        records_failed = BigIntegerField(default=0)
        error = TextField(null=True)
        host = CharField(null=True)
        heartbeat = DateTimeField(null=True)

        class Meta:
            table_name = "runtime"
            indexes = (
                (("app", "started"), False),
                (("status", "started"), False),
                (("started",), False),
            )

    class Logs(Base):
        id = AutoField()
        app = CharField(max_length=128, column_name="app_id")
        runtime = CharField(null=True, max_length=200, column_name="runtime_id")
        level = SmallIntegerField()
        module = CharField(max_length=200, default="")
        function = CharField(max_length=200, default="")
        message = TextField()
        timestamp = DateTimeField()

        class Meta:
            table_name = "logs"
            indexes = (
                (("app", "timestamp"), False),
                (("level", "timestamp"), False),
                (("runtime", "id"), False),
                (("timestamp",), False),
            )

    class PipelineTask(Base):
        id = AutoField()
        app = CharField(index=True, max_length=128, column_name="app_id")
        runtime = CharField(null=True, max_length=200, column_name="runtime_id")
        document_type = CharField(max_length=64)
        document_ref = CharField()
        stage = CharField(max_length=32)
        status = CharField(max_length=18, default="PENDING")
        retries = IntegerField(default=0)
        error = TextField(null=True)
        error_stage = CharField(null=True, max_length=32)
        stage_durations = TextField(default="{}")
        duration_seconds = FloatField(null=True)
        created = DateTimeField()
        started = DateTimeField(null=True)
        ended = DateTimeField(null=True)
        updated = DateTimeField()

        class Meta:
            table_name = "pipeline_task"
            indexes = (
                (("document_type", "created"), False),
                (("status", "created"), False),
                (("stage",), False),
                (("created",), False),
            )

    class FunctionLog(Base):
        id = AutoField()
        app = CharField(max_length=128, column_name="app_id")
        runtime = CharField(null=True, max_length=200, column_name="runtime_id")
        function_name = CharField(max_length=200)
        module = CharField(max_length=200, default="")
        started = DateTimeField()
        runtime_seconds = FloatField()
        task_size = BigIntegerField(default=0)
        solved = BigIntegerField(default=0)
        failed = BigIntegerField(default=0)

        class Meta:
            table_name = "function_log"
            indexes = (
                (("app", "started"), False),
                (("function_name", "started"), False),
                (("runtime",), False),
                (("started",), False),
            )

    db.create_tables([Apps, Runtime, Logs, PipelineTask, FunctionLog])
    statements: tuple[str, ...]
    if isinstance(migrator, SqliteMigrator):
        statements = SQLITE_FTS
    elif isinstance(migrator, PostgresqlMigrator):
        statements = POSTGRES_FTS
    else:  # MSSQL full-text needs a catalog the DBA owns; search falls back to LIKE.
        statements = ()
    for sql in statements:
        db.execute_sql(sql)  # type: ignore[no-untyped-call]  # peewee stub


def down(migrator: SchemaMigrator, db: Database) -> None:
    for table in ("logs_fts",):
        db.execute_sql(f"DROP TABLE IF EXISTS {table}")  # type: ignore[no-untyped-call]  # peewee stub
    for table in ("function_log", "pipeline_task", "logs", "runtime", "apps"):
        migrator.migrate(migrator.drop_table(table))
