"""GET /api/v1/apps?sort=last_run: apps ordered by the start of their current run, else
of their last finished run, page after page, with the runs shown beside them."""

from __future__ import annotations

import datetime as dt

import pytest

from control.apps.models import Apps
from control.enums import RunStatus, RuntimeStatus
from tests.factories import make_app, make_runtime

T = dt.datetime(2025, 2, 1, 8)


@pytest.fixture
def runs(db) -> dict[str, dt.datetime]:
    """Seven apps, each with a finished run; three of them run now (a newer run), and
    two share a start (the id breaks the tie). Returns each app's "Last run" start."""
    starts: dict[str, dt.datetime] = {}
    for n, hours in enumerate((5, 1, 9, 3, 3, 7, 2)):
        app = make_app(id=f"scraper_sort_{n}")
        finished = make_runtime(app, started=T + dt.timedelta(hours=hours))
        fields = {"last_runtime": finished.id}
        starts[app.id] = finished.started
        if n in (1, 3, 6):  # running now, started after the finished one
            current = make_runtime(
                app,
                started=T + dt.timedelta(hours=10 + n),
                status=RuntimeStatus.RUNNING,
                ended=None,
            )
            fields |= {"current_runtime": current.id, "run_status": RunStatus.RUNNING}
            starts[app.id] = current.started
        Apps.update(**fields).where(Apps.id == app.id).execute()
    return starts


@pytest.mark.parametrize("descending", [True, False])
def test_pages_follow_the_last_run_start(client, runs, descending):
    # by start (newest first when descending), ties by id ascending either way
    expected = sorted(sorted(runs), key=lambda i: runs[i], reverse=descending)
    seen: list[str] = []
    for page in (1, 2, 3):
        r = client.simulate_get(
            "/api/v1/apps",
            params={
                "sort": "-last_run" if descending else "last_run",
                "per_page": "3",
                "page": str(page),
            },
        )
        assert r.status_code == 200
        assert r.json["meta"]["total"] == 7
        for item in r.json["data"]:
            assert item["last_run"]["started"].startswith(runs[item["id"]].isoformat())
        seen += [item["id"] for item in r.json["data"]]
    assert seen == expected
