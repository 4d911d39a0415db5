"""The one audit writer: rows from a context, marked recorded only once committed."""

from __future__ import annotations

import pytest

from control.audit import services as audit
from control.audit.context import Actor, AuditContext
from control.audit.models import AuditLog
from control.db.database import database, write_transaction


def request_context() -> AuditContext:
    return AuditContext(
        actor=Actor("ops@example.com", "user", "operator"),
        ip="192.0.2.7",
        method="POST",
        endpoint="/api/v1/apps/a1/start",
        summary={"params": {"app_id": "a1"}, "body": {"password": "hunter2-plain"}},
        status=202,
        request_id="req-0001",
    )


def test_a_row_holds_the_context_and_the_details_redacted(db):
    context = request_context()
    audit.record(context, "apps.start", details={"command_id": "c1", "token": "t-plain"})
    row = AuditLog.get()
    assert (row.action, row.outcome, row.status, row.request_id) == (
        "apps.start",
        "success",
        202,
        "req-0001",
    )
    assert (row.actor, row.actor_type, row.role, row.ip) == (
        "ops@example.com",
        "user",
        "operator",
        "192.0.2.7",
    )
    assert (row.method, row.endpoint) == ("POST", "/api/v1/apps/a1/start")
    assert row.summary == {
        "params": {"app_id": "a1"},
        "body": {"password": "[redacted]"},
        "command_id": "c1",
        "token": "[redacted]",
    }
    assert context.recorded


def test_details_alone_and_another_actor(db):
    context = request_context()
    audit.record(
        context,
        "auth.login_failed",
        outcome="failed",
        actor=Actor("who@example.com", "anonymous"),
        details={"reason": "credentials"},
        with_request=False,
    )
    row = AuditLog.get()
    assert (row.actor, row.actor_type, row.role) == ("who@example.com", "anonymous", None)
    assert row.summary == {"reason": "credentials"}
    assert row.status is None  # a failure does not take the success status


def _fail_after_writing(context: AuditContext) -> None:
    with write_transaction():
        audit.write(context, "apps.start")
        assert not context.recorded  # not before the commit
        raise RuntimeError("the change fails")


def test_a_rolled_back_row_is_not_recorded(db):
    context = AuditContext(actor=Actor("t"))
    with database.connection_context(), pytest.raises(RuntimeError, match="change fails"):
        _fail_after_writing(context)
    assert not context.recorded
    assert AuditLog.select().count() == 0
    with database.connection_context(), write_transaction():
        audit.write(context, "apps.start")
    assert context.recorded
    assert AuditLog.select().count() == 1


def test_a_failing_write_is_logged_not_raised(db, monkeypatch, caplog):
    def broken(**fields: object) -> None:
        from peewee import OperationalError

        raise OperationalError("the disk is full")

    monkeypatch.setattr(AuditLog, "create", broken)
    context = AuditContext()
    audit.record(context, "auth.logout")
    assert "could not write the audit row for auth.logout" in caplog.text
    assert not context.recorded
