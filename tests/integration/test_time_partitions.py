"""``logs`` by day and ``function_log`` by week: time partitions on PostgreSQL
(migration 0018, ``control.maintenance.partitions``); plain tables on SQLite.

The partitions' tests run on PostgreSQL (``postgresql_db``); on SQLite one test checks
that the partition functions are no-ops.
"""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import Database

from control.clock import utcnow
from control.db import migrate
from control.logs.models import Logs
from control.maintenance import partitions, retention
from control.maintenance.partitions import FUNCTION_LOG, LOGS
from control.performance.models import FunctionLog
from control.settings import load_settings
from tests.factories import make_app, make_function_log, make_log

MIGRATION = "0018_time_partitions"


def _home(db: Database, table: str, row_id: int) -> str:
    """The partition holding the row ``row_id`` of ``table``."""
    (name,) = db.execute_sql(
        f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", (row_id,)
    ).fetchone()
    return str(name)


def _names(scheme: partitions.Scheme) -> list[str]:
    return [p.name for p in partitions.list_partitions(scheme)]


def test_the_partition_functions_are_no_ops_on_sqlite(sqlite_db):
    with sqlite_db.connection_context():
        assert not partitions.is_partitioned(LOGS)
        assert partitions.list_partitions(LOGS) == []
        assert partitions.ensure_ahead() == {}
        assert partitions.drop_partitions_before(LOGS, utcnow()) == []


@pytest.mark.postgres
def test_the_tables_are_partitioned_after_migrating(postgresql_db):
    db = postgresql_db
    with db.connection_context():
        today = utcnow()
        for scheme in (LOGS, FUNCTION_LOG):
            assert partitions.is_partitioned(scheme)
            found = partitions.list_partitions(scheme)
            assert found[-1].name == scheme.default
            assert found[-1].is_default
            names = [p.name for p in found]
            assert scheme.name(scheme.start_of(today)) in names
            ahead = today + dt.timedelta(days=partitions.AHEAD_DAYS)
            assert scheme.name(scheme.start_of(ahead)) in names
        # the primary key carries the partition key; every index is declared on the parent
        keys = db.execute_sql(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'logs'::regclass AND contype = 'p'"
        ).fetchone()
        assert keys == ('PRIMARY KEY (id, "timestamp")',)
        indexes = {
            name
            for (name,) in db.execute_sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'logs'"
            ).fetchall()
        }
        assert indexes == {
            "logs_pkey",
            "logs_app_id_timestamp",
            "logs_level_timestamp",
            "logs_message_tsv",
            "logs_runtime_id_id",
            "logs_timestamp",
        }


def test_names_say_the_day_and_the_iso_week():
    at = dt.datetime(2026, 12, 3, 17, 5)
    assert LOGS.name(LOGS.start_of(at)) == "logs_p20261203"
    assert FUNCTION_LOG.start_of(at) == dt.datetime(2026, 11, 30)  # the Monday
    assert FUNCTION_LOG.name(FUNCTION_LOG.start_of(at)) == "function_log_p2026w49"
    # the ISO year of a week that starts in December
    assert FUNCTION_LOG.name(FUNCTION_LOG.start_of(dt.datetime(2027, 1, 1))) == (
        "function_log_p2026w53"
    )


@pytest.mark.postgres
def test_a_row_of_today_lands_in_todays_partition_a_far_one_in_the_default(postgresql_db):
    db = postgresql_db
    now = utcnow()
    with db.connection_context():
        app = make_app()
        today = make_log(app, timestamp=now)
        far = make_log(app, timestamp=now - dt.timedelta(days=800))
        call = make_function_log(app, started=now)
        far_call = make_function_log(app, started=now + dt.timedelta(days=800))
        assert _home(db, "logs", today.id) == LOGS.name(LOGS.start_of(now))
        assert _home(db, "logs", far.id) == "logs_default"
        assert _home(db, "function_log", call.id) == FUNCTION_LOG.name(FUNCTION_LOG.start_of(now))
        assert _home(db, "function_log", far_call.id) == "function_log_default"
        # the stored word vector of migration 0016 is kept on every partition
        assert db.execute_sql(
            "SELECT count(*) FROM logs WHERE message_tsv @@ plainto_tsquery('simple', 'hello')"
        ).fetchone() == (2,)


@pytest.mark.postgres
def test_ensure_is_idempotent_and_creates_the_partitions_ahead(postgresql_db):
    db = postgresql_db
    now = utcnow() + dt.timedelta(days=500)  # days no other test has created
    with db.connection_context():
        first = partitions.ensure_ahead(now=now, days=3)
        assert set(first) == {"logs", "function_log"}
        expected = [LOGS.name(LOGS.start_of(now + dt.timedelta(days=d))) for d in range(4)]
        assert first["logs"].created == expected
        assert first["logs"].skipped == {}
        assert first["function_log"].created  # the week(s) of those days
        again = partitions.ensure_ahead(now=now, days=3)
        assert again["logs"].created == []
        assert again["logs"].existing == expected
        assert again["function_log"].created == []
        assert set(expected) <= set(_names(LOGS))


@pytest.mark.postgres
def test_ensure_skips_a_range_whose_rows_are_in_the_default(postgresql_db, monkeypatch):
    db = postgresql_db
    day = LOGS.start_of(utcnow() + dt.timedelta(days=900))
    with db.connection_context():
        app = make_app()
        stray = make_log(app, timestamp=day + dt.timedelta(hours=5))  # a clock far off
        assert _home(db, "logs", stray.id) == "logs_default"
        report = partitions.ensure_partitions(LOGS, day, day + dt.timedelta(days=1))
        assert list(report.skipped) == [LOGS.name(day)]
        assert "logs_default" in report.skipped[LOGS.name(day)]
        assert report.created == [LOGS.name(day + dt.timedelta(days=1))]
        # had the row arrived after the check, PostgreSQL's refusal is reported as well
        monkeypatch.setattr(partitions, "_default_has_rows", lambda *args: False)
        raced = partitions.ensure_partitions(LOGS, day, day)
        assert list(raced.skipped) == [LOGS.name(day)]
        assert raced.created == []
        assert _home(db, "logs", stray.id) == "logs_default"  # the row is where it was
        assert Logs.select().count() == 1


@pytest.mark.postgres
def test_retention_drops_whole_old_partitions_and_deletes_the_rest(postgresql_db):
    db = postgresql_db
    # noon: the cut-off (30 days of logs, 90 of function logs) falls inside a partition
    now = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    logs_cut = now - dt.timedelta(days=30)
    calls_cut = now - dt.timedelta(days=90)
    with db.connection_context():
        partitions.ensure_partitions(LOGS, logs_cut - dt.timedelta(days=3), now)
        partitions.ensure_partitions(FUNCTION_LOG, calls_cut - dt.timedelta(days=21), now)
        app = make_app()
        whole_old = make_log(app, timestamp=logs_cut - dt.timedelta(days=2))
        straddling_old = make_log(app, timestamp=logs_cut - dt.timedelta(hours=6))
        straddling_new = make_log(app, timestamp=logs_cut + dt.timedelta(hours=6))
        in_default = make_log(app, timestamp=now - dt.timedelta(days=800))
        recent = make_log(app, timestamp=now - dt.timedelta(days=1))
        old_partition = _home(db, "logs", whole_old.id)
        assert _home(db, "logs", straddling_old.id) == LOGS.name(LOGS.start_of(logs_cut))
        assert _home(db, "logs", in_default.id) == "logs_default"
        old_call = make_function_log(app, started=calls_cut - dt.timedelta(days=14))
        old_week = _home(db, "function_log", old_call.id)
        old_call_in_default = make_function_log(app, started=now - dt.timedelta(days=900))
        kept_call = make_function_log(app, started=now - dt.timedelta(days=2))

        removed = retention.run_retention(
            load_settings(retention_logs_days=30, retention_function_logs_days=90), now=now
        )

        # the whole partitions are gone (their rows with them, not counted as deletes)
        assert old_partition not in _names(LOGS)
        assert old_week not in _names(FUNCTION_LOG)
        assert LOGS.name(LOGS.start_of(logs_cut)) in _names(LOGS)  # straddles: kept
        assert "logs_default" in _names(LOGS)
        # the batched DELETE took the old rows of the straddling and default partitions
        assert removed["logs"] == 2
        assert removed["function_logs"] == 1
        assert sorted(row.id for row in Logs.select()) == sorted([straddling_new.id, recent.id])
        assert [row.id for row in FunctionLog.select()] == [kept_call.id]
        assert old_call_in_default.id not in [row.id for row in FunctionLog.select()]


@pytest.mark.postgres
def test_down_then_up_keeps_the_rows(postgresql_db):
    db = postgresql_db
    now = utcnow()
    with db.connection_context():
        app = make_app()
        rows = [make_log(app, timestamp=now - dt.timedelta(days=d)) for d in (0, 3, 400)]
        calls = [make_function_log(app, started=now - dt.timedelta(days=d)) for d in (0, 20)]
    # the later migrations go down first, and come back up after it
    rolled_back = migrate.runner(db).down(MIGRATION)
    assert rolled_back[-1] == MIGRATION
    with db.connection_context():
        assert not partitions.is_partitioned(LOGS)
        assert not partitions.is_partitioned(FUNCTION_LOG)
        assert sorted(r.id for r in Logs.select()) == sorted(r.id for r in rows)
        assert Logs.select().count() == 3
        assert FunctionLog.select().count() == 2
    assert migrate.upgrade(db) == rolled_back[::-1]
    with db.connection_context():
        assert partitions.is_partitioned(LOGS)
        assert partitions.is_partitioned(FUNCTION_LOG)
        assert sorted((r.id, r.timestamp) for r in Logs.select()) == sorted(
            (r.id, r.timestamp) for r in rows
        )
        assert sorted(c.id for c in FunctionLog.select()) == sorted(c.id for c in calls)
        assert _home(db, "logs", rows[0].id) == LOGS.name(LOGS.start_of(now))
        assert _home(db, "logs", rows[1].id) == LOGS.name(LOGS.start_of(rows[1].timestamp))
        assert _home(db, "logs", rows[2].id) == "logs_default"  # past retention
        # the id sequences went on from where they were
        assert make_log(app, timestamp=now).id > max(r.id for r in rows)
        assert make_function_log(app, started=now).id > max(c.id for c in calls)
