"""Migrations: the same scripts build the same schema on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from playhouse.schema_diff import diff_models

from control.apps.models import Apps
from control.db import migrate
from control.db.database import dialect
from control.db.registry import all_models
from control.enums import CommandFlag, FatalFlag, PipelineStatus, RunStatus, RuntimeStatus
from control.logs.models import Logs
from control.pipelines.models import PipelineTask
from control.runtimes.models import Runtime
from tests.factories import make_app, make_log, make_pipeline_task, make_runtime


def test_nothing_pending_after_upgrade_and_upgrade_is_idempotent(db):
    assert migrate.pending(db) == []
    assert migrate.upgrade(db) == []


# PostgreSQL: partitioned by time (migration 0018); peewee reads a plain table's indexes only
PARTITIONED = ("logs", "function_log")


def _index_columns(db, table: str) -> set[tuple[str, ...]]:
    """The columns of each index of the PostgreSQL ``table`` (plain or partitioned)."""
    rows = db.execute_sql(
        "SELECT i.indexrelid, array_agg(a.attname ORDER BY k.n) FROM pg_index i"
        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
        " WHERE i.indrelid = to_regclass(%s) GROUP BY i.indexrelid",
        (table,),
    ).fetchall()
    return {tuple(columns) for _, columns in rows}


def _index_names(db, table: str) -> set[str]:
    rows = db.execute_sql("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))
    return {name for (name,) in rows.fetchall()}


def test_schema_matches_the_models(db):
    diff = diff_models(db, all_models())
    assert diff.create_tables == []
    assert diff.add_columns == []
    # what the models do not describe is full-text search's: on PostgreSQL the stored
    # word vector of the logs (migration 0016) and its index
    assert diff.drop_columns in ([], [("logs", "message_tsv")])
    partitioned = PARTITIONED if dialect(db) == "postgresql" else ()
    assert [i for i in diff.add_indexes if i.table not in partitioned] == []
    for index in diff.add_indexes:  # the partitioned tables' indexes, read from the catalogue
        assert index.columns in _index_columns(db, index.table)
    assert [i.name for i in diff.drop_indexes] in ([], ["logs_message_tsv"])


def test_full_text_index_exists_for_the_dialect(db):
    if dialect(db) == "sqlite":
        assert "logs_fts" in db.get_tables()
        app = make_app()
        make_log(app, message="Timeout after 30s on registry page")
        make_log(app, message="Parsed 500 records")
        rows = db.execute_sql(
            "SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?", ("timeout",)
        ).fetchall()
        assert len(rows) == 1
    else:
        names = _index_names(db, "logs")
        assert "logs_message_tsv" in names
        assert "logs_message_fts" not in names  # replaced, not kept beside it
        app = make_app()
        make_log(app, message="Timeout after 30s on registry page")
        make_log(app, message="Parsed 500 records")
        # PostgreSQL keeps the stored vector of each new row
        rows = db.execute_sql(
            "SELECT id FROM logs WHERE message_tsv @@ plainto_tsquery('simple', 'timeout')"
        ).fetchall()
        assert len(rows) == 1


def test_down_then_up_round_trip(tmp_path):
    from control.db.database import init_database

    db = init_database(f"sqlite:///{tmp_path}/round.sqlite3")
    every = [m.name for m in migrate.runner(db).migrations()]
    assert every[:2] == ["0001_core_tables", "0002_auth_and_audit"]
    assert migrate.upgrade(db) == every
    assert migrate.runner(db).down("0001_core_tables") == every[::-1]
    assert db.get_tables() == ["schema_migration"]
    assert migrate.upgrade(db) == every
    db.close()


def test_enums_json_and_timestamps_round_trip(db):
    app = make_app(
        settings={"batch_size": 500, "nested": {"a": [1, 2]}},
        run_status=RunStatus.RUNNING,
        command_flag=CommandFlag.STOP,
        fatal_flag=FatalFlag.FATAL,
        progress_current=986,
        progress_total=3000,
    )
    again = Apps.get_by_id(app.id)
    assert again.settings == {"batch_size": 500, "nested": {"a": [1, 2]}}
    assert again.run_status is RunStatus.RUNNING
    assert again.command_flag is CommandFlag.STOP
    assert again.fatal_flag is FatalFlag.FATAL
    assert (again.progress_current, again.progress_total) == (986, 3000)
    # stored as plain names, so managers reading the table see strings
    raw = db.execute_sql(
        f"SELECT run_status, command_flag FROM apps WHERE id = {db.param}", (app.id,)
    ).fetchone()
    assert tuple(raw) == ("RUNNING", "STOP")


def test_runtime_id_and_cascade(db):
    app = make_app(id="scraper_company_registry")
    run = make_runtime(app, started=dt.datetime(2025, 1, 15, 7, 30), status=RuntimeStatus.RUNNING)
    assert run.id == "20250115_073000_scraper_company_registry"
    task = make_pipeline_task(app, status=PipelineStatus.FAILED, stage_durations={"OCR": 1.5})
    assert PipelineTask.get_by_id(task.id).stage_durations == {"OCR": 1.5}
    app.delete_instance()
    assert not Runtime.select().where(Runtime.id == run.id).exists()


def test_unknown_enum_value_is_refused(db):
    with pytest.raises(ValueError, match="SLEEPING"):
        make_app(run_status="SLEEPING")


def test_log_level_range_query_uses_numbers(db):
    app = make_app()
    for level in (10, 20, 30, 40, 50):
        make_log(app, level=level)
    assert Logs.select().where(Logs.level >= 30).count() == 3
