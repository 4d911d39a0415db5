"""The app list reads only the columns its items show (``run_state.LISTED``), and each
item is exactly what reading every column gives."""

from __future__ import annotations

import datetime as dt

from peewee import Database

from control.apps import services
from control.apps.models import Apps
from control.apps.run_state import with_runs
from control.enums import RunStatus, RuntimeStatus
from control.querying import parse_sort
from tests.factories import BASE_TIME, make_app, make_runtime


def test_list_items_match_the_fully_read_apps(db: Database) -> None:
    idle = make_app(id="columns_idle", group="columns", schedule="*/5 * * * *")
    idle.last_runtime = make_runtime(idle, status=RuntimeStatus.FAILED, error="boom").id
    idle.save()
    running = make_app(id="columns_running", group="columns", run_status=RunStatus.RUNNING)
    running.last_runtime = make_runtime(running).id
    current = make_runtime(
        running, started=BASE_TIME + dt.timedelta(hours=1), status=RuntimeStatus.RUNNING, ended=None
    )
    running.current_runtime = current.id
    running.progress_current, running.progress_total = 30, 120
    running.progress_updated = BASE_TIME + dt.timedelta(hours=1, minutes=3)
    running.save()
    make_app(id="columns_never", group="columns", settings={"token": "x" * 40})

    sort = parse_sort("id", list(services.SORTABLE))
    page = services.list_apps(services.AppFilter(group="columns"), sort, 1, 10)
    full = with_runs().where(Apps.group == "columns").order_by(Apps.id)
    expected = [services.summary(app) for app in full]
    for item in page.rows:
        item.pop("health")
    # the running app's ETA counts from its reported progress, not from now: all equal
    assert page.rows == expected
    assert [r["last_run"]["runtime"] if r["last_run"] else None for r in page.rows] == [
        idle.last_runtime,
        None,
        current.id,
    ]
    assert page.rows[2]["progress"]["eta_seconds"] is not None
