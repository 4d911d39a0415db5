"""The agent's every-second read of the due apps reads what hosting and queueing need."""

from __future__ import annotations

import datetime as dt

from control.agent.scheduler import due_apps
from control.clock import utcnow
from tests.factories import make_app
from tests.sql_capture import captured_sql


def test_due_apps_read_only_what_the_agent_looks_at(db) -> None:
    due = make_app(
        id="due_now",
        group="duegroup",
        settings={"entrypoint": "test.quick"},
        next_run=utcnow() - dt.timedelta(minutes=1),
    )
    make_app(id="due_later", group="duegroup", next_run=utcnow() + dt.timedelta(hours=1))

    with captured_sql() as statements:
        (app,) = due_apps(["duegroup"])

    assert (app.id, app.group, app.app, app.settings) == (due.id, due.group, due.app, due.settings)
    assert (app.disabled, app.fatal_flag, app.is_service) == (
        due.disabled,
        due.fatal_flag,
        due.is_service,
    )
    (sql, _params) = statements[-1]
    selected = sql.split(" FROM ")[0]
    for unread in ("description", "fatal_reason", "progress_current", "created"):
        assert unread not in selected, selected
