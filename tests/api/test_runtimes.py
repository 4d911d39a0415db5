"""GET /api/v1/runtimes and /api/v1/runtimes/{id} on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from control.auth.roles import Role
from control.clock import utcnow
from control.enums import RuntimeStatus
from tests.factories import make_app, make_function_log, make_runtime
from web.schemas.runtimes import RuntimeDetailResponse, RuntimeListResponse

URL = "/api/v1/runtimes"
T0 = dt.datetime(2025, 1, 15, 7, 0)


def hours(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


@pytest.fixture
def runs(db):
    """Six runs of four apps, newest first r6..r1; r2 and r3 start at the same instant."""
    de = make_app(id="scraper_de_registry")
    fr = make_app(id="scraper_fr_gazette")
    x = make_app(id="scraperXde")  # '_' of a glob is literal: scraper_* must skip it
    upper = make_app(id="Scraper_upper")  # globs are case-sensitive, like the exact match
    r1 = make_runtime(de, started=hours(0), ended=hours(0.25))
    r2 = make_runtime(
        de,
        started=hours(1),
        ended=hours(1) + dt.timedelta(minutes=5),
        status=RuntimeStatus.FAILED,
        trigger="command",
        records_total=1000,
        records_solved=900,
        records_failed=100,
        error="upstream 503",
        host="worker-1",
        heartbeat=hours(1) + dt.timedelta(minutes=4),
    )
    r3 = make_runtime(fr, started=hours(1), ended=hours(1.5))
    r4 = make_runtime(fr, started=hours(2), ended=None, status=RuntimeStatus.RUNNING)
    r5 = make_runtime(x, started=hours(3), ended=hours(3.1))
    r6 = make_runtime(upper, started=hours(4), ended=None, status=RuntimeStatus.STOPPED)
    return {"r1": r1, "r2": r2, "r3": r3, "r4": r4, "r5": r5, "r6": r6}


def ids(body) -> list[str]:
    return [item["id"] for item in body["data"]]


def names(runs, *keys) -> list[str]:
    return [runs[k].id for k in keys]


def test_list_newest_first_with_id_tiebreak(client, runs):
    r = client.simulate_get(URL)
    assert r.status_code == 200, r.text
    RuntimeListResponse.model_validate(r.json)
    # r2 and r3 share a start: the larger id (scraper_fr_gazette) comes first
    assert ids(r.json) == names(runs, "r6", "r5", "r4", "r3", "r2", "r1")
    assert r.json["meta"] == {"limit": 50, "next_cursor": None}


def test_list_item_shape_and_numbers(client, runs):
    items = {i["id"]: i for i in client.simulate_get(URL).json["data"]}
    assert items[runs["r2"].id] == {
        "id": "20250115_080000_scraper_de_registry",
        "app": "scraper_de_registry",
        "started": "2025-01-15T08:00:00Z",
        "ended": "2025-01-15T08:05:00Z",
        "status": "FAILED",
        "trigger": "command",
        "duration_seconds": 300.0,
        "records": {"total": 1000, "solved": 900, "failed": 100},
        "error": "upstream 503",
        "host": "worker-1",
    }
    assert items[runs["r1"].id]["duration_seconds"] == 900.0
    assert items[runs["r6"].id]["duration_seconds"] is None  # stopped without an end
    running = items[runs["r4"].id]
    expected = (utcnow() - hours(2)).total_seconds()
    assert running["ended"] is None
    assert expected - 60 <= running["duration_seconds"] <= expected + 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"app": "scraper_de_registry"}, ["r2", "r1"]),
        ({"app": "scraper_*"}, ["r4", "r3", "r2", "r1"]),
        ({"app": "scraper_?e_*"}, ["r2", "r1"]),
        ({"app": "*Xde"}, ["r5"]),
        ({"app": "*"}, ["r6", "r5", "r4", "r3", "r2", "r1"]),
        ({"app": "scraper"}, []),  # exact without wildcards
        ({"app": "scraper%"}, []),  # % is literal
        ({"app": "scraper\\_*"}, []),  # so is a backslash
        ({"status": "FAILED"}, ["r2"]),
        ({"status": "RUNNING"}, ["r4"]),
        ({"app": "scraper_*", "status": "COMPLETED"}, ["r3", "r1"]),
        ({"from": "2025-01-15T08:00:00"}, ["r6", "r5", "r4", "r3", "r2"]),  # inclusive
        ({"to": "2025-01-15T08:00:00"}, ["r1"]),  # exclusive
        ({"from": "2025-01-15T08:00:00Z", "to": "2025-01-15T10:00:00Z"}, ["r4", "r3", "r2"]),
        ({"from": "2025-01-15T09:00:00+01:00"}, ["r6", "r5", "r4", "r3", "r2"]),  # = 08:00Z
        ({"from": "2025-01-15T12:00:00Z"}, []),
    ],
)
def test_filters(client, runs, params, expected):
    r = client.simulate_get(URL, params=params)
    assert r.status_code == 200, r.text
    assert ids(r.json) == names(runs, *expected)


def test_cursor_walks_every_run_once(client, runs):
    seen, pages, cursor = [], 0, None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        body = client.simulate_get(URL, params=params).json
        seen += ids(body)
        pages += 1
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert seen == names(runs, "r6", "r5", "r4", "r3", "r2", "r1")
    assert pages == 3


def test_cursor_keeps_the_filters(client, runs):
    first = client.simulate_get(URL, params={"app": "scraper_*", "limit": "3"}).json
    assert ids(first) == names(runs, "r4", "r3", "r2")
    rest = client.simulate_get(
        URL, params={"app": "scraper_*", "limit": "3", "cursor": first["meta"]["next_cursor"]}
    ).json
    assert ids(rest) == names(runs, "r1")
    assert rest["meta"]["next_cursor"] is None


def _flip_first(cursor: str) -> str:
    # the first character carries six bits of the payload (the last one partly padding)
    return ("A" if cursor[0] != "A" else "B") + cursor[1:]


@pytest.mark.parametrize("mangle", [_flip_first, lambda c: "x" + c, lambda c: "x"])
def test_tampered_cursor_is_400(client, runs, mangle):
    cursor = client.simulate_get(URL, params={"limit": "2"}).json["meta"]["next_cursor"]
    r = client.simulate_get(URL, params={"limit": "2", "cursor": mangle(cursor)})
    assert r.status_code == 400
    assert r.json["error"]["details"] == [
        {"field": "cursor", "message": "invalid or expired cursor"}
    ]


def test_a_log_cursor_is_refused(client, runs):
    from tests.factories import make_log

    app = make_app()
    for minute in range(3):
        make_log(app, timestamp=T0 + dt.timedelta(minutes=minute))
    cursor = client.simulate_get("/api/v1/logs", params={"limit": "1"}).json["meta"]["next_cursor"]
    assert cursor
    assert client.simulate_get(URL, params={"cursor": cursor}).status_code == 400


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "DONE"}, "status"),
        ({"from": "yesterday"}, "from"),
        ({"limit": "101"}, "limit"),
        ({"app": ""}, "app"),
    ],
)
def test_invalid_filters_are_422(client, runs, params, field):
    r = client.simulate_get(URL, params=params)
    assert r.status_code == 422, r.text
    assert r.json["error"]["details"][0]["field"] == field


@pytest.mark.parametrize("name", ["group", "since", "until"])  # 'from'/'to' by their names
def test_unknown_parameter_is_400(client, runs, name):
    r = client.simulate_get(URL, params={name: "2025-01-15T08:00:00"})
    assert r.status_code == 400
    assert r.json["error"]["code"] == "UNKNOWN_PARAMETER"
    assert r.json["error"]["details"][0]["field"] == name


def test_detail_with_function_summary(client, runs):
    run = runs["r2"]
    app = run.app
    # fetch: 1.5 + 2.5 + 4.0 s; parse: 0.25 + 0.75 s
    for seconds, size, solved, failed in ((1.5, 10, 9, 1), (2.5, 20, 20, 0), (4.0, 30, 25, 5)):
        make_function_log(
            app,
            runtime=run.id,
            function_name="fetch",
            runtime_seconds=seconds,
            task_size=size,
            solved=solved,
            failed=failed,
        )
    for seconds, solved, failed in ((0.25, 5, 0), (0.75, 4, 1)):
        make_function_log(
            app,
            runtime=run.id,
            function_name="parse",
            runtime_seconds=seconds,
            task_size=5,
            solved=solved,
            failed=failed,
        )
    # other runs' calls and calls without a run do not count
    make_function_log(app, runtime=runs["r1"].id, function_name="fetch", runtime_seconds=99.0)
    make_function_log(app, runtime=None, function_name="fetch", runtime_seconds=42.0)

    r = client.simulate_get(f"{URL}/{run.id}")
    assert r.status_code == 200, r.text
    RuntimeDetailResponse.model_validate(r.json)
    data = r.json["data"]
    functions = data.pop("functions")
    assert data == {
        "id": "20250115_080000_scraper_de_registry",
        "app": "scraper_de_registry",
        "started": "2025-01-15T08:00:00Z",
        "ended": "2025-01-15T08:05:00Z",
        "status": "FAILED",
        "trigger": "command",
        "duration_seconds": 300.0,
        "records": {"total": 1000, "solved": 900, "failed": 100},
        "error": "upstream 503",
        "host": "worker-1",
        "heartbeat": "2025-01-15T08:04:00Z",
        "notes": [],
    }
    assert [f["function_name"] for f in functions] == ["fetch", "parse"]  # longest total first
    fetch, parse = functions
    assert fetch == {
        "function_name": "fetch",
        "calls": 3,
        "total_seconds": pytest.approx(8.0),
        "avg_seconds": pytest.approx(8.0 / 3),
        "max_seconds": pytest.approx(4.0),
        "task_size": 60,
        "solved": 54,
        "failed": 6,
    }
    assert parse == {
        "function_name": "parse",
        "calls": 2,
        "total_seconds": pytest.approx(1.0),
        "avg_seconds": pytest.approx(0.5),
        "max_seconds": pytest.approx(0.75),
        "task_size": 10,
        "solved": 9,
        "failed": 1,
    }
    assert all(isinstance(f[k], int) for f in functions for k in ("task_size", "solved"))


def test_detail_of_a_running_run_without_calls(client, db):
    app = make_app(id="scraper_live")
    started = utcnow().replace(microsecond=0) - dt.timedelta(minutes=10)
    run = make_runtime(app, started=started, ended=None, status=RuntimeStatus.RUNNING)
    data = client.simulate_get(f"{URL}/{run.id}").json["data"]
    assert data["status"] == "RUNNING"
    assert data["ended"] is None
    assert 600 <= data["duration_seconds"] < 660
    assert data["functions"] == []
    assert data["heartbeat"] is None


def test_detail_unknown_runtime_is_404(client, db):
    r = client.simulate_get(f"{URL}/20250101_000000_nope")
    assert r.status_code == 404
    assert r.json["error"]["code"] == "NOT_FOUND"
    assert "20250101_000000_nope" in r.json["error"]["message"]


def test_viewer_may_read_and_anonymous_may_not(client_as, anonymous, runs):
    viewer = client_as(Role.VIEWER)
    assert viewer.simulate_get(URL).status_code == 200
    assert viewer.simulate_get(f"{URL}/{runs['r1'].id}").status_code == 200
    for path in (URL, f"{URL}/{runs['r1'].id}"):
        r = anonymous.simulate_get(path)
        assert r.status_code == 401
        assert "www-authenticate" in r.headers


def test_documented_parameters(client, db):
    doc = client.simulate_get("/api/openapi.json").json
    get = doc["paths"][URL]["get"]
    assert {p["name"] for p in get["parameters"]} == {
        "app",
        "status",
        "from",
        "to",
        "cursor",
        "limit",
    }
    item = doc["paths"][f"{URL}/{{runtime_id}}"]["get"]
    assert "404" in item["responses"]


# -- the run strip: recent runs of several apps in one call ------------------------------


def test_recent_runs_per_app_newest_first_in_one_call(client, db):
    a = make_app(id="strip_a")
    b = make_app(id="strip_b")
    make_app(id="strip_idle")
    for i in range(12):
        status = RuntimeStatus.FAILED if i % 4 == 0 else RuntimeStatus.COMPLETED
        make_runtime(
            a, started=hours(i), ended=hours(i) + dt.timedelta(seconds=30 + i), status=status
        )
    make_runtime(b, started=hours(1), ended=None, status=RuntimeStatus.RUNNING)
    r = client.simulate_get(
        f"{URL}/recent", params={"app_ids": "strip_a,strip_b,strip_idle,nope", "per_app": "10"}
    )
    assert r.status_code == 200, r.text
    data = r.json["data"]
    assert set(data) == {"strip_a", "strip_b", "strip_idle", "nope"}
    assert data["strip_idle"] == []
    assert data["nope"] == []
    # the ten newest of twelve: hours 11 down to 2
    assert [run["started"] for run in data["strip_a"]] == [
        f"{hours(i):%Y-%m-%dT%H:%M:%S}Z" for i in range(11, 1, -1)
    ]
    assert data["strip_a"][0]["duration_seconds"] == 41.0
    assert [run["status"] for run in data["strip_a"]][:4] == [
        "COMPLETED",
        "COMPLETED",
        "COMPLETED",
        "FAILED",
    ]
    (running,) = data["strip_b"]
    assert running["status"] == "RUNNING"
    assert running["ended"] is None
    assert running["duration_seconds"] > 0


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"app_ids": ""},
        {"app_ids": " , "},
        {"app_ids": ",".join(f"a{i}" for i in range(101))},
        {"app_ids": "a", "per_app": "0"},
        {"app_ids": "a", "per_app": "51"},
        {"app_ids": "a", "per_app": "x"},
    ],
)
def test_recent_runs_refuses_bad_input_in_the_error_shape(client, db, params):
    r = client.simulate_get(f"{URL}/recent", params=params)
    assert r.status_code in (400, 422)
    assert set(r.json["error"]) >= {"code", "message", "details"}
