"""GET /api/v1/apps by cursor: following ``meta.next_cursor`` shows the same apps, in the
same order, as ``page=1, 2, ...`` for every sort (NULLs of next_run and last_run
included), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from control.apps.models import Apps
from control.enums import FatalFlag, RunStatus
from tests.factories import make_app, make_runtime

T = dt.datetime(2025, 3, 1, 8)
PER_PAGE = "3"


@pytest.fixture
def fleet(db) -> list[str]:
    """Eleven apps whose sort fields tie and are missing in places: next_run None on
    some and equal on others, no run at all on some (last_run NULL)."""
    ids = []
    for n in range(11):
        app = make_app(
            id=f"cursor_app_{n:02d}",
            app=f"name_{n % 4}",
            group=("de", "fr", "uk")[n % 3],
            parent=("court", "registry")[n % 2],
            run_status=(RunStatus.IDLE, RunStatus.FAILED, RunStatus.RUNNING)[n % 3],
            fatal_flag=FatalFlag.FATAL if n % 4 == 0 else FatalFlag.NO_FATAL,
            disabled=n % 5 == 0,
            next_run=None if n % 3 == 0 else T + dt.timedelta(hours=n % 4),
            updated=T + dt.timedelta(minutes=n % 6),
        )
        if n % 4 != 1:
            run = make_runtime(app, started=T - dt.timedelta(hours=n % 3))
            Apps.update(last_runtime=run.id).where(Apps.id == app.id).execute()
        ids.append(app.id)
    return ids


def by_pages(client, params: dict[str, str]) -> list[str]:
    seen: list[str] = []
    page = 1
    while True:
        body = client.simulate_get("/api/v1/apps", params=params | {"page": str(page)}).json
        if not body["data"]:
            return seen
        seen += [a["id"] for a in body["data"]]
        page += 1


def by_cursor(client, params: dict[str, str]) -> tuple[list[str], list[int]]:
    """The ids page after page following next_cursor, and each page's meta.page."""
    seen: list[str] = []
    numbers: list[int] = []
    query = dict(params)
    while True:
        r = client.simulate_get("/api/v1/apps", params=query)
        assert r.status_code == 200, r.text
        seen += [a["id"] for a in r.json["data"]]
        numbers.append(r.json["meta"]["page"])
        assert r.json["meta"]["total"] == 11
        cursor = r.json["meta"]["next_cursor"]
        if cursor is None:
            return seen, numbers
        query = params | {"cursor": cursor}


SORTS = [
    "",
    "-id",
    "app",
    "-group",
    "parent,-run_status",
    "-fatal_flag",
    "next_run",
    "-next_run",
    "last_run",
    "-last_run",
    "disabled,-updated",
]


@pytest.mark.parametrize("sort", SORTS)
def test_cursor_pages_show_what_offset_pages_show(client, fleet, sort):
    params = {"per_page": PER_PAGE} | ({"sort": sort} if sort else {})
    offset = by_pages(client, params)
    followed, numbers = by_cursor(client, params)
    assert sorted(offset) == sorted(fleet)
    assert followed == offset
    assert numbers == [1, 2, 3, 4]


def test_a_cursor_keeps_its_sort_and_the_filters_apply(client, fleet):
    first = client.simulate_get(
        "/api/v1/apps", params={"per_page": "2", "sort": "-next_run", "parent": "court"}
    ).json
    cursor = first["meta"]["next_cursor"]
    # the sort sent beside a cursor is ignored: the cursor's own goes on
    second = client.simulate_get(
        "/api/v1/apps",
        params={"per_page": "2", "sort": "app", "parent": "court", "cursor": cursor},
    ).json
    expected = by_pages(client, {"per_page": "2", "sort": "-next_run", "parent": "court"})
    assert [a["id"] for a in first["data"] + second["data"]] == expected[:4]
    assert second["meta"]["page"] == 2
    assert second["meta"]["total"] == 6


def test_an_altered_cursor_is_refused(client, fleet):
    cursor = client.simulate_get("/api/v1/apps", params={"per_page": "2"}).json["meta"][
        "next_cursor"
    ]
    body, signature = cursor.split(".")
    r = client.simulate_get("/api/v1/apps", params={"cursor": f"{body}A.{signature}"})
    assert r.status_code == 400
    assert r.json["error"]["details"][0]["field"] == "cursor"


def test_the_last_page_has_no_next_cursor(client, fleet):
    last = client.simulate_get("/api/v1/apps", params={"per_page": "5", "page": "3"}).json
    assert [a["id"] for a in last["data"]] == [fleet[10]]
    assert last["meta"]["next_cursor"] is None


def test_a_cursor_past_the_rows_left_answers_no_apps_and_the_total_of_now(client, fleet):
    """The count rides in the page's statement; a page with no row to carry it (the
    apps after the cursor's were deleted meanwhile) counts on its own."""
    first = client.simulate_get("/api/v1/apps", params={"per_page": "4", "sort": "-id"}).json
    shown = [a["id"] for a in first["data"]]
    Apps.delete().where(Apps.id.not_in(shown)).execute()
    after = client.simulate_get(
        "/api/v1/apps", params={"per_page": "4", "cursor": first["meta"]["next_cursor"]}
    ).json
    assert after["data"] == []
    assert (after["meta"]["total"], after["meta"]["next_cursor"]) == (4, None)
