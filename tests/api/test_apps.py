"""GET /api/v1/apps and /api/v1/apps/{id} on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from control.apps.models import Apps
from control.auth.roles import Role
from control.enums import FatalFlag, RunStatus, RuntimeStatus
from tests.factories import make_app, make_runtime


@pytest.fixture
def fleet(db):
    """25 apps: 15 in 'de' (3 parents), 10 in 'fr'; a few flags set."""
    apps = []
    for i in range(25):
        group = "de" if i < 15 else "fr"
        apps.append(
            make_app(
                id=f"scraper_{group}_{i:02d}",
                app=f"scraper_{i:02d}",
                group=group,
                parent=["registry", "gazette", "courts"][i % 3],
                disabled=i in (3, 17),
                fatal_flag=FatalFlag.FATAL if i in (4, 20) else FatalFlag.NO_FATAL,
                run_status=RunStatus.RUNNING if i in (5, 6) else RunStatus.IDLE,
                is_service=i == 24,
            )
        )
    return apps


def test_list_envelope_and_meta(client, fleet):
    r = client.simulate_get("/api/v1/apps", params={"group": "de", "per_page": "4", "page": "2"})
    assert r.status_code == 200
    body = r.json
    assert set(body) == {"data", "meta"}
    meta = body["meta"]
    assert meta.pop("next_cursor")  # the next page by keyset (tests/api/test_apps_cursor_pages.py)
    assert meta == {"page": 2, "per_page": 4, "total": 15, "total_pages": 4}
    assert [a["id"] for a in body["data"]] == [f"scraper_de_{i:02d}" for i in range(4, 8)]
    assert all(a["group"] == "de" for a in body["data"])


def test_last_page_is_partial_and_beyond_is_empty(client, fleet):
    last = client.simulate_get("/api/v1/apps", params={"per_page": "10", "page": "3"}).json
    assert len(last["data"]) == 5
    assert last["meta"]["total_pages"] == 3
    beyond = client.simulate_get("/api/v1/apps", params={"per_page": "10", "page": "4"}).json
    assert beyond["data"] == []
    assert beyond["meta"]["total"] == 25


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"group": "fr"}, {f"scraper_fr_{i}" for i in range(15, 25)}),
        ({"group": "de", "parent": "courts"}, {f"scraper_de_{i:02d}" for i in (2, 5, 8, 11, 14)}),
        ({"disabled": "true"}, {"scraper_de_03", "scraper_fr_17"}),
        ({"fatal_flag": "FATAL"}, {"scraper_de_04", "scraper_fr_20"}),
        ({"run_status": "RUNNING"}, {"scraper_de_05", "scraper_de_06"}),
        ({"is_service": "true"}, {"scraper_fr_24"}),
        ({"q": "FR_2"}, {f"scraper_fr_{i}" for i in range(20, 25)}),
        ({"q": "_%"}, set()),  # LIKE wildcards are literal
        (
            {"group": "fr", "disabled": "false", "fatal_flag": "NO_FATAL"},
            {f"scraper_fr_{i}" for i in range(15, 25)} - {"scraper_fr_17", "scraper_fr_20"},
        ),
    ],
)
def test_filters(client, fleet, params, expected):
    r = client.simulate_get("/api/v1/apps", params={**params, "per_page": "100"})
    assert r.status_code == 200, r.text
    assert {a["id"] for a in r.json["data"]} == expected
    assert r.json["meta"]["total"] == len(expected)


def test_sort_descending_then_ascending_tiebreak(client, fleet):
    r = client.simulate_get("/api/v1/apps", params={"sort": "-group,parent", "per_page": "100"})
    rows = r.json["data"]
    keys = [(a["group"], a["parent"], a["id"]) for a in rows]
    expected = sorted(keys, key=lambda k: (k[1], k[2]))
    expected = sorted(expected, key=lambda k: k[0], reverse=True)
    assert keys == expected


def test_sort_by_last_run(client, fleet):
    for offset, app in enumerate(fleet[:3]):
        run = make_runtime(app, started=dt.datetime(2025, 1, 10 + offset, 8))
        Apps.update(last_runtime=run.id).where(Apps.id == app.id).execute()
    r = client.simulate_get(
        "/api/v1/apps", params={"sort": "-last_run", "group": "de", "per_page": "3"}
    )
    ids = [a["id"] for a in r.json["data"]]
    # NULLs sort last on PostgreSQL descending but first on SQLite; compare the dated ones
    dated = [i for i in ids if i in {"scraper_de_00", "scraper_de_01", "scraper_de_02"}]
    assert dated == sorted(dated, reverse=True) or dated == []


def test_detail_with_last_runtime_like_the_spec(client, db):
    app = make_app(
        id="scraper_company_registry",
        app="scraper_company_registry",
        group="scrapers",
        parent="registry",
        settings={"batch_size": 500},
        next_run=dt.datetime(2025, 1, 15, 8, 0),
    )
    run = make_runtime(
        app,
        started=dt.datetime(2025, 1, 15, 7, 30),
        ended=dt.datetime(2025, 1, 15, 7, 45, 12),
        status=RuntimeStatus.COMPLETED,
    )
    Apps.update(last_runtime=run.id).where(Apps.id == app.id).execute()

    r = client.simulate_get("/api/v1/apps/scraper_company_registry")
    assert r.status_code == 200
    data = r.json["data"]
    assert data["app"] == "scraper_company_registry"
    assert data["group"] == "scrapers"
    assert data["parent"] == "registry"
    assert data["run_status"] == "IDLE"
    assert data["command_flag"] == "NONE"
    assert data["fatal_flag"] == "NO_FATAL"
    assert data["next_run"] == "2025-01-15T08:00:00Z"
    assert data["settings"] == {"batch_size": 500}
    assert data["last_runtime"] == {
        "runtime": "20250115_073000_scraper_company_registry",
        "started": "2025-01-15T07:30:00Z",
        "ended": "2025-01-15T07:45:12Z",
        "status": "COMPLETED",
    }


def test_detail_unknown_app_is_404_in_error_shape(client, db):
    r = client.simulate_get("/api/v1/apps/nope")
    assert r.status_code == 404
    assert r.json["error"]["code"] == "NOT_FOUND"
    assert "nope" in r.json["error"]["message"]


def test_list_matches_response_model(client, fleet):
    from web.schemas.apps import AppListResponse

    AppListResponse.model_validate(client.simulate_get("/api/v1/apps").json)


def test_groups_with_their_counts(client, client_as, fleet):
    Apps.update(run_status=RunStatus.RUNNING).where(Apps.id == "scraper_fr_21").execute()
    r = client.simulate_get("/api/v1/groups")
    assert r.status_code == 200
    assert r.json == {
        "data": [
            {"group": "de", "apps": 15, "running": 2, "fatal": 1, "disabled": 1},
            {"group": "fr", "apps": 10, "running": 1, "fatal": 1, "disabled": 1},
        ]
    }
    viewer = client_as(Role.VIEWER).simulate_get("/api/v1/groups")
    assert [g["group"] for g in viewer.json["data"]] == ["de", "fr"]
    unknown = client.simulate_get("/api/v1/groups", params={"page": "2"})
    assert unknown.status_code == 400  # it takes no parameters
    assert unknown.json["error"]["code"] == "UNKNOWN_PARAMETER"


def test_running_app_shows_the_current_run_and_one_eta_in_list_and_detail(client, db):
    """Issue 13 #2: while an app runs, Last run is the CURRENT run (not the previous,
    finished one) and the list's ETA is the detail's, from the current run's start."""
    app = make_app(id="scraper_eta_running", run_status=RunStatus.RUNNING)
    previous = make_runtime(app, started=dt.datetime(2025, 1, 13, 7, 0))
    current = make_runtime(
        app, started=dt.datetime(2025, 1, 15, 7, 30), status=RuntimeStatus.RUNNING, ended=None
    )
    Apps.update(
        last_runtime=previous.id,
        current_runtime=current.id,
        progress_current=986,
        progress_total=3000,
        progress_updated=dt.datetime(2025, 1, 15, 7, 40),
    ).where(Apps.id == app.id).execute()

    listed = client.simulate_get("/api/v1/apps", params={"q": "scraper_eta_running"}).json
    shown = client.simulate_get("/api/v1/apps/scraper_eta_running").json["data"]
    (item,) = listed["data"]
    assert (
        item["last_run"]
        == shown["last_run"]
        == {
            "runtime": current.id,
            "started": "2025-01-15T07:30:00Z",
            "ended": None,
            "status": "RUNNING",
        }
    )
    assert item["last_runtime"]["runtime"] == previous.id
    # 986 items in 600 s: 2014 left at 986/600 per s = 1225.6 s (the previous run,
    # two days older, would have made it ~hundreds of hours)
    assert item["progress"]["eta_seconds"] == shown["progress"]["eta_seconds"] == 1225.6
    assert item["progress"] == shown["progress"]


def test_idle_app_last_run_is_the_last_finished_one(client, db):
    app = make_app(id="scraper_eta_idle")
    run = make_runtime(app, started=dt.datetime(2025, 1, 14, 7, 0))
    Apps.update(last_runtime=run.id).where(Apps.id == app.id).execute()
    (item,) = client.simulate_get("/api/v1/apps", params={"q": "scraper_eta_idle"}).json["data"]
    assert item["last_run"]["runtime"] == run.id
    assert item["last_run"]["status"] == "COMPLETED"
    assert item["progress"]["eta_seconds"] is None
