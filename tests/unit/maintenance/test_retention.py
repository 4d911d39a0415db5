"""Retention deletes old rows in bounded batches and keeps the rest (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import Database

from control.auth.models import RefreshToken, RevokedToken, User
from control.clock import utcnow
from control.logs.models import Logs
from control.maintenance import retention
from control.maintenance.retention import purge_older_than, run_retention
from control.notifications.models import (
    ChannelType,
    DeliveryStatus,
    NotificationChannel,
    NotificationDelivery,
    Severity,
)
from control.performance.models import FunctionHour, FunctionLog
from control.performance.rollup import roll_up
from control.settings import load_settings
from control.system.models import SystemMetric
from tests.factories import make_app, make_function_log, make_log

NOW = utcnow()  # the revocation list expires against the clock


def test_old_rows_go_in_batches_and_newer_ones_stay(db: Database, monkeypatch):
    with db.connection_context():
        app = make_app()
        for days in range(1, 8):  # 7 rows older than the cutoff
            make_log(app, timestamp=NOW - dt.timedelta(days=30 + days))
        for days in range(0, 3):  # 3 newer
            make_log(app, timestamp=NOW - dt.timedelta(days=days))
    deletes: list[str] = []
    execute_sql = db.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        if sql.lstrip().upper().startswith("DELETE"):
            deletes.append(sql)
        return execute_sql(sql, params, *args, **kwargs)

    monkeypatch.setattr(db, "execute_sql", counting)
    removed = purge_older_than(Logs, Logs.timestamp, NOW - dt.timedelta(days=30), batch=3)
    assert removed == 7
    assert len(deletes) == 3  # 3 + 3 + 1 rows, one short statement each
    with db.connection_context():
        kept = sorted(row.timestamp for row in Logs.select())
    assert kept == [NOW - dt.timedelta(days=d) for d in (2, 1, 0)]


def test_a_run_stops_between_batches_at_its_deadline_and_the_next_carries_on(
    db: Database, monkeypatch
):
    with db.connection_context():
        app = make_app()
        for days in range(1, 8):
            make_log(app, timestamp=NOW - dt.timedelta(days=30 + days))
    # two batches fit before the deadline (its check, not the clock: the connection pool
    # reads time.monotonic too)
    checks = iter([False, False, True])
    monkeypatch.setattr(retention, "_past", lambda until: next(checks, True))
    cutoff = NOW - dt.timedelta(days=30)
    assert purge_older_than(Logs, Logs.timestamp, cutoff, batch=2, until=5.0) == 4
    monkeypatch.undo()
    with db.connection_context():
        assert Logs.select().count() == 3
    assert purge_older_than(Logs, Logs.timestamp, cutoff, batch=2) == 3  # the next run


def test_nothing_to_delete_is_zero(db: Database):
    assert purge_older_than(Logs, Logs.timestamp, NOW, batch=10) == 0


def test_a_batch_below_one_is_refused(db: Database):
    with pytest.raises(ValueError, match="batch"):
        purge_older_than(Logs, Logs.timestamp, NOW, batch=0)


def test_run_retention_applies_every_rule_and_counts(db: Database):
    settings = load_settings(
        retention_logs_days=30,
        retention_function_logs_days=90,
        retention_metrics_days=14,
        retention_deliveries_days=90,
    )
    old, recent = dt.timedelta(days=200), dt.timedelta(days=1)
    with db.connection_context():
        app = make_app()
        make_log(app, timestamp=NOW - dt.timedelta(days=31))
        make_log(app, timestamp=NOW - recent)
        make_function_log(app, started=NOW - dt.timedelta(days=91))
        make_function_log(app, started=NOW - dt.timedelta(days=89))
        roll_up(NOW)  # one rollup hour for each call: the old one goes with its call
        for at in (NOW - dt.timedelta(days=15), NOW - dt.timedelta(days=15, hours=1), NOW):
            SystemMetric.create(
                at=at, cpu_percent=1, memory_percent=2, disk_percent=3, process_count=4
            )
        channel = NotificationChannel.create(
            name="ops", type=ChannelType.WEBHOOK, events=["runtime.failed"]
        )
        for status, age in (
            (DeliveryStatus.SENT, old),
            (DeliveryStatus.FAILED, old),
            (DeliveryStatus.QUEUED, old),  # unfinished: left to the requeue sweep
            (DeliveryStatus.SENT, recent),
        ):
            NotificationDelivery.create(
                channel=channel,
                channel_name="ops",
                event="runtime.failed",
                severity=Severity.ERROR,
                title="t",
                status=status,
                created=NOW - age,
            )
        user = User.create(email="a@example.com", password_hash="x")
        RefreshToken.create(jti="gone", family="f", user=user, expires=NOW - recent)
        RefreshToken.create(jti="live", family="f", user=user, expires=NOW + recent)
        RevokedToken.create(jti="r-gone", expires=NOW - recent)
        RevokedToken.create(jti="r-live", expires=NOW + recent)

    removed = run_retention(settings, now=NOW, batch=1)

    assert removed == {
        "logs": 1,
        "function_logs": 1,
        "function_hours": 1,
        "system_metrics": 2,
        "notification_deliveries": 2,
        "refresh_tokens": 1,
        "revoked_tokens": 1,
    }
    with db.connection_context():
        assert Logs.select().count() == 1
        assert FunctionLog.select().count() == 1
        assert [h.hour for h in FunctionHour.select()] == [
            (NOW - dt.timedelta(days=89)).replace(minute=0, second=0, microsecond=0)
        ]
        assert SystemMetric.select().count() == 1
        assert sorted(d.status.value for d in NotificationDelivery.select()) == ["queued", "sent"]
        assert [t.jti for t in RefreshToken.select()] == ["live"]
        assert [t.jti for t in RevokedToken.select()] == ["r-live"]
