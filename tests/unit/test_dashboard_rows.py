"""The dashboard's pure parts: API records → rows, URL routing, CSP, the origin check."""

from __future__ import annotations

import datetime as dt

import flask
import pytest

from control.apps.services import SORTABLE
from dashboard import paths
from dashboard.login import client_address
from dashboard.pages.program_manager import COLUMNS, INFINITE_OPTIONS
from dashboard.rows import (
    API_MAX_PER_PAGE,
    SORTABLE_COLUMNS,
    app_row,
    column_filters,
    filters_for,
    group_label,
    job_summary,
    merge_filters,
    pages_for,
    sort_param,
    zone,
)
from dashboard.security import content_security_policy, same_origin, websocket_origin

RUNNING = {
    "id": "scraper_de",
    "app": "scraper",
    "group": "de",
    "parent": "registry",
    "run_status": "RUNNING",
    "fatal_flag": "NO_FATAL",
    "disabled": False,
    "next_run": "2025-01-15T08:00:00Z",
    "progress": {
        "current": 986,
        "total": 3000,
        "updated": "2025-01-15T07:40:00Z",
        "percent": 32.9,
        "eta_seconds": 1225.6,
    },
    # the API's last_run is the current run; last_runtime the previous, finished one
    "last_run": {"started": "2025-01-15T07:30:00Z", "status": "RUNNING"},
    "last_runtime": {"started": "2025-01-13T07:00:00Z", "status": "COMPLETED"},
}


def test_app_row_shows_what_the_api_says() -> None:
    row = app_row(RUNNING)
    assert row["progress"] == "986/3000"
    assert row["progress_percent"] == 32.9
    assert row["last_run"] == "01-15 07:30"
    assert row["last_run_utc"] == "2025-01-15 07:30:00 UTC"
    assert row["next_run"] == "01-15 08:00"
    assert row["disabled"] == "no"
    assert row["eta"] == "20m 26s"  # the API's eta_seconds, no arithmetic of our own


def test_app_row_in_the_users_time_zone() -> None:
    row = app_row(RUNNING, zone("Europe/Berlin"))
    assert row["last_run"] == "01-15 08:30"
    assert row["last_run_utc"] == "2025-01-15 07:30:00 UTC"
    assert zone("Not/AZone") == zone("UTC")


def test_no_eta_without_the_apis() -> None:
    assert app_row({**RUNNING, "progress": {"current": 1, "total": 2}})["eta"] == ""
    assert app_row({"id": "x", "progress": None, "last_run": None})["progress"] == ""


def test_filters_and_groups() -> None:
    assert filters_for("running") == {"run_status": "RUNNING"}
    assert filters_for("errors") == {"run_status": "FAILED"}
    assert filters_for("all", "fr") == {"group": "fr"}
    assert filters_for("unknown") == {}
    assert group_label({"group": "de", "apps": 7, "fatal": 0}) == "de"
    assert group_label({"group": "fr", "apps": 3, "fatal": 2}) == "fr · 2 fatal"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 100, (100, [1], 0, 100)),  # the grid's blocks: one page each
        (200, 300, (100, [3], 0, 100)),
        (0, 1, (1, [1], 0, 1)),
        (10, 20, (10, [2], 0, 10)),
        (95, 105, (15, [7], 5, 10)),  # unaligned: a bigger page that covers it
        (50, 150, (100, [1, 2], 50, 100)),  # or two pages of the maximum
        (0, 500, (100, [1], 0, 100)),  # never more than the API's maximum
    ],
)
def test_pages_for_grid_blocks(
    start: int, end: int, expected: tuple[int, list[int], int, int]
) -> None:
    per_page, pages, skip, count = pages_for(start, end)
    assert (per_page, pages, skip, count) == expected
    assert 1 <= per_page <= API_MAX_PER_PAGE
    first_row = (pages[0] - 1) * per_page + skip
    assert first_row == start
    assert skip + count <= per_page * len(pages)


def test_grid_sorting_and_filters_map_to_the_api() -> None:
    assert sort_param(None) == "id"
    assert sort_param([{"colId": "next_run", "sort": "desc"}]) == "-next_run"
    assert sort_param([{"colId": "app", "sort": "asc"}, {"colId": "eta", "sort": "asc"}]) == "app"
    assert sort_param([{"colId": "progress", "sort": "desc"}]) == "id"
    model = {
        "group": {"filterType": "text", "type": "equals", "filter": " fr "},
        "parent": {"filterType": "text", "type": "contains", "filter": "gouv"},
        "app": {"filterType": "text", "type": "equals", "filter": "x"},
    }
    assert column_filters(model) == {"group": "fr"}
    assert merge_filters({"run_status": "RUNNING"}, {"group": "fr"}) == {
        "run_status": "RUNNING",
        "group": "fr",
    }
    assert merge_filters({"group": "de"}, {"group": "de"}) == {"group": "de"}
    assert merge_filters({"group": "de"}, {"group": "fr"}) is None


def test_grid_columns_are_sortable_only_where_the_api_sorts() -> None:
    assert set(SORTABLE_COLUMNS) <= set(SORTABLE)  # the API accepts every grid sort
    for column in COLUMNS:
        assert column["sortable"] == (column["field"] in SORTABLE_COLUMNS)
        filtered = column["field"] in {"group", "parent"}
        assert bool(column["filter"]) == filtered, column
    assert not {c["field"] for c in COLUMNS if c["sortable"]} & {"progress", "eta"}
    assert INFINITE_OPTIONS["cacheBlockSize"] <= API_MAX_PER_PAGE


def test_job_summary() -> None:
    job = {"command": "START", "status": "completed", "matched": 2, "done": 2, "applied": 2}
    assert job_summary(job) == "START: completed, 2/2 (2 applied)"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/dashboard/", ("apps", "all")),
        ("/dashboard/apps/fatal", ("apps", "fatal")),
        ("/dashboard/apps/group/de%20x", ("group", "de x")),
        ("/dashboard/app/scraper_de", ("app", "scraper_de")),
        ("/dashboard/live-logs", ("live-logs", "")),
        ("/dashboard/settings", ("settings", "")),
        ("/dashboard/nope", ("missing", "/dashboard/nope")),
    ],
)
def test_routes(path: str, expected: tuple[str, str]) -> None:
    assert paths.route(path) == expected


def test_csp_has_no_eval_and_allows_the_api_socket() -> None:
    csp = content_security_policy(["'sha256-abc='"], websocket_origin("https://dc.example"))
    assert "script-src 'self' 'sha256-abc='" in csp
    assert "connect-src 'self' wss://dc.example" in csp
    assert "unsafe-eval" not in csp
    assert websocket_origin("http://127.0.0.1:8000") == "ws://127.0.0.1:8000"


def test_same_origin_and_client_address() -> None:
    app = flask.Flask("t")
    cases = [
        ({"Origin": "http://dash.example:8050"}, True),
        ({"Origin": "http://evil.example"}, False),
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({}, True),
    ]
    for headers, expected in cases:
        with app.test_request_context(
            "/dashboard/login", method="POST", base_url="http://dash.example:8050", headers=headers
        ):
            assert same_origin(flask.request) is expected, headers
    with app.test_request_context(
        "/",
        headers={"X-Forwarded-For": "1.2.3.4, 10.0.0.9"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    ):
        assert client_address(flask.request, ["127.0.0.1"]) == "10.0.0.9"
        # DC_TRUSTED_PROXIES decides, not the peer being local: empty, nothing is believed
        assert client_address(flask.request, []) == "127.0.0.1"
    with app.test_request_context(
        "/", headers={"X-Forwarded-For": "1.2.3.4"}, environ_base={"REMOTE_ADDR": "10.1.1.1"}
    ):
        assert client_address(flask.request, ["127.0.0.1"]) == "10.1.1.1"
        assert client_address(flask.request, ["10.0.0.0/8"]) == "1.2.3.4"


def test_settings_page_offers_every_zone_and_shows_the_time_there() -> None:
    from dashboard.callbacks.user_settings import now_in
    from dashboard.pages.user_settings import time_zones

    zones = time_zones()
    assert {"Asia/Kolkata", "UTC"} <= set(zones)
    assert len(zones) > 300
    noon = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
    assert now_in("Asia/Kolkata", noon) == "Now: 2025-01-15 17:30 (Asia/Kolkata)"
    assert now_in("Not/AZone", noon) == "Now: 2025-01-15 12:00 (UTC)"
