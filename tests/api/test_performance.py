"""GET /api/v1/performance/functions/...: logs, slowest, history and trends on SQLite
and PostgreSQL, checked against figures worked out by hand from the seeded rows."""

from __future__ import annotations

import datetime as dt

import pytest

from control.auth.roles import Role
from control.clock import utcnow
from control.performance.models import FunctionLog
from tests.factories import make_app, make_function_log

T = dt.datetime(2025, 1, 15, 7, 0)
WINDOW = {"from": "2025-01-15T07:00:00Z", "to": "2025-01-15T09:00:00Z"}


def at(hour: int, minute: int, day: int = 15) -> dt.datetime:
    return dt.datetime(2025, 1, day, hour, minute)


def iso(value: dt.datetime) -> str:
    return value.isoformat() + "Z"


@pytest.fixture
def calls(db):
    """Timed calls of two apps, 2025-01-15 (UTC).

    scraper_a  fetch  07:05  1 s  size 100  solved 90  failed 10
               fetch  07:35  3 s  size 200  solved 190 failed 10
               fetch  08:10  2 s  size 300  solved 300 failed 0
               parse  07:20 10 s  size 50   solved 50  failed 0
               parse  08:40 20 s  size 70   solved 60  failed 10
               fetch  01-14 23:30  5 s  size 5  (the day before)
    scraper_b  fetch  07:50  4 s  size 10   solved 5   failed 5
               process_records  06:30  100 s  size 1000  (before 07:00)
    """
    a = make_app(id="scraper_a")
    b = make_app(id="scraper_b")
    rows = [
        (a, "fetch", at(7, 5), 1.0, 100, 90, 10),
        (a, "fetch", at(7, 35), 3.0, 200, 190, 10),
        (a, "fetch", at(8, 10), 2.0, 300, 300, 0),
        (a, "parse", at(7, 20), 10.0, 50, 50, 0),
        (a, "parse", at(8, 40), 20.0, 70, 60, 10),
        (a, "fetch", at(23, 30, day=14), 5.0, 5, 5, 0),
        (b, "fetch", at(7, 50), 4.0, 10, 5, 5),
        (b, "process_records", at(6, 30), 100.0, 1000, 1000, 0),
    ]
    return [
        make_function_log(
            app,
            function_name=name,
            started=started,
            runtime_seconds=seconds,
            task_size=size,
            solved=solved,
            failed=failed,
            module="collector.steps",
        )
        for app, name, started, seconds, size, solved, failed in rows
    ]


# ---------------------------------------------------------------- list


def test_list_newest_first_with_shape(client, calls):
    r = client.simulate_get("/api/v1/performance/functions")
    assert r.status_code == 200, r.text
    body = r.json
    assert body["meta"] == {"limit": 50, "next_cursor": None}
    starts = [row["started"] for row in body["data"]]
    assert starts == sorted(starts, reverse=True)
    assert len(starts) == 8
    first = body["data"][0]
    assert first == {
        "id": calls[4].id,
        "app_id": "scraper_a",
        "runtime_id": None,
        "function_name": "parse",
        "module": "collector.steps",
        "started": "2025-01-15T08:40:00Z",
        "runtime_seconds": 20.0,
        "task_size": 70,
        "solved": 60,
        "failed": 10,
    }
    from web.schemas.performance import FunctionLogListResponse

    FunctionLogListResponse.model_validate(body)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"app": "scraper_b"}, {6, 7}),
        ({"function_name": "parse"}, {3, 4}),
        ({"app": "scraper_a", "function_name": "fetch"}, {0, 1, 2, 5}),
        (WINDOW, {0, 1, 2, 3, 4, 6}),
        ({"from": "2025-01-15T08:10:00"}, {2, 4}),  # inclusive; no zone is UTC
        ({"to": "2025-01-15T07:05:00Z"}, {5, 7}),  # exclusive
        ({"from": "2025-01-15T09:10:00+01:00"}, {2, 4}),  # 08:10 UTC
        ({"app": "nobody"}, set()),
    ],
)
def test_list_filters(client, calls, params, expected):
    r = client.simulate_get("/api/v1/performance/functions", params=params)
    assert r.status_code == 200, r.text
    assert {row["id"] for row in r.json["data"]} == {calls[i].id for i in expected}


def test_list_bad_window_and_parameters(client, calls):
    r = client.simulate_get(
        "/api/v1/performance/functions", params={"from": WINDOW["to"], "to": WINDOW["from"]}
    )
    assert r.status_code == 400
    assert r.json["error"]["details"][0]["field"] == "from"
    r = client.simulate_get("/api/v1/performance/functions", params={"from": "yesterday"})
    assert r.status_code == 422
    assert r.json["error"]["details"][0]["field"] == "from"
    r = client.simulate_get("/api/v1/performance/functions", params={"since": WINDOW["from"]})
    assert r.status_code == 400  # the attribute name is not a parameter; 'from' is


def test_cursor_walk_breaks_ties_by_id(client, db):
    app = make_app()
    same = dt.datetime(2025, 1, 15, 12, 0)
    logs = [make_function_log(app, started=same) for _ in range(3)]
    logs += [make_function_log(app, started=same - dt.timedelta(minutes=m)) for m in (1, 2)]
    logs += [make_function_log(app, started=same + dt.timedelta(minutes=m)) for m in (1, 2)]
    expected = [logs[6].id, logs[5].id, logs[2].id, logs[1].id, logs[0].id, logs[3].id, logs[4].id]

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        r = client.simulate_get("/api/v1/performance/functions", params=params)
        assert r.status_code == 200, r.text
        pages += 1
        seen += [row["id"] for row in r.json["data"]]
        cursor = r.json["meta"]["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == expected

    r = client.simulate_get("/api/v1/performance/functions", params={"limit": "3"})
    tampered = r.json["meta"]["next_cursor"][:-2] + "xx"
    r = client.simulate_get("/api/v1/performance/functions", params={"cursor": tampered})
    assert r.status_code == 400


# ---------------------------------------------------------------- slowest


def test_slowest_in_a_window_by_hand(client, calls):
    r = client.simulate_get("/api/v1/performance/functions/slowest", params=WINDOW)
    assert r.status_code == 200, r.text
    assert r.json["data"] == [
        {
            "function_name": "parse",
            "app_id": "scraper_a",
            "avg_runtime_seconds": 15.0,  # (10 + 20) / 2
            "max_runtime_seconds": 20.0,
            "avg_task_size": 60.0,  # (50 + 70) / 2
            "total_calls": 2,
        },
        {
            "function_name": "fetch",
            "app_id": "scraper_b",
            "avg_runtime_seconds": 4.0,
            "max_runtime_seconds": 4.0,
            "avg_task_size": 10.0,
            "total_calls": 1,
        },
        {
            "function_name": "fetch",
            "app_id": "scraper_a",
            "avg_runtime_seconds": 2.0,  # (1 + 3 + 2) / 3; the 5 s call is the day before
            "max_runtime_seconds": 3.0,
            "avg_task_size": 200.0,  # (100 + 200 + 300) / 3
            "total_calls": 3,
        },
    ]
    assert r.json["meta"] == {"n": 10, "since": WINDOW["from"], "until": WINDOW["to"]}
    from web.schemas.performance import SlowestResponse

    SlowestResponse.model_validate(r.json)


def test_slowest_all_time_and_n(client, calls):
    r = client.simulate_get("/api/v1/performance/functions/slowest", params={"n": "2"})
    assert r.status_code == 200
    assert [(x["function_name"], x["app_id"]) for x in r.json["data"]] == [
        ("process_records", "scraper_b"),
        ("parse", "scraper_a"),
    ]
    everything = client.simulate_get("/api/v1/performance/functions/slowest").json["data"]
    fetch_a = everything[-1]
    assert (fetch_a["function_name"], fetch_a["app_id"]) == ("fetch", "scraper_a")
    assert fetch_a["total_calls"] == 4
    assert fetch_a["avg_runtime_seconds"] == 2.75  # (1 + 3 + 2 + 5) / 4
    assert fetch_a["avg_task_size"] == 151.2  # 605 / 4 = 151.25, to 0.1
    assert fetch_a["max_runtime_seconds"] == 5.0


def test_slowest_rounds_averages(client, db):
    app = make_app(id="scraper_round")
    for seconds, size in [(1.0, 1), (1.0, 1), (2.0, 2)]:
        make_function_log(app, function_name="f", runtime_seconds=seconds, task_size=size)
    (row,) = client.simulate_get("/api/v1/performance/functions/slowest").json["data"]
    assert row["avg_runtime_seconds"] == 1.333  # 4 / 3
    assert row["avg_task_size"] == 1.3  # 4 / 3


def test_slowest_ties_go_to_the_higher_maximum_then_name(client, db):
    app = make_app(id="scraper_ties")
    for name, runtimes in [("b", (2.0, 2.0)), ("c", (1.0, 3.0)), ("a", (2.0, 2.0))]:
        for seconds in runtimes:
            make_function_log(app, function_name=name, runtime_seconds=seconds)
    rows = client.simulate_get("/api/v1/performance/functions/slowest").json["data"]
    assert [r["function_name"] for r in rows] == ["c", "a", "b"]


def test_slowest_period_is_relative_to_now(client, db):
    app = make_app(id="scraper_recent")
    now = utcnow()
    make_function_log(app, function_name="recent", started=now - dt.timedelta(minutes=10))
    make_function_log(app, function_name="older", started=now - dt.timedelta(hours=2))
    hour = client.simulate_get(
        "/api/v1/performance/functions/slowest", params={"period": "last_1h"}
    )
    assert [r["function_name"] for r in hour.json["data"]] == ["recent"]
    meta = hour.json["meta"]
    since = dt.datetime.fromisoformat(meta["since"].replace("Z", ""))
    until = dt.datetime.fromisoformat(meta["until"].replace("Z", ""))
    assert until - since == dt.timedelta(hours=1)
    day = client.simulate_get(
        "/api/v1/performance/functions/slowest", params={"period": "last_24h"}
    )
    assert {r["function_name"] for r in day.json["data"]} == {"recent", "older"}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"n": "0"}, 422),
        ({"n": "101"}, 422),
        ({"n": "-3"}, 422),
        ({"n": "1"}, 200),
        ({"n": "100"}, 200),
        ({"period": "last_2h"}, 422),
        ({"period": "last_1h", "from": "2025-01-15T07:00:00Z"}, 400),
        ({"from": "2025-01-15T09:00:00Z", "to": "2025-01-15T07:00:00Z"}, 400),
    ],
)
def test_slowest_parameters(client, calls, params, status):
    r = client.simulate_get("/api/v1/performance/functions/slowest", params=params)
    assert r.status_code == status, r.text


def test_slowest_n_bounds_the_list(client, db):
    app = make_app()
    for i in range(12):
        make_function_log(app, function_name=f"f{i:02d}", runtime_seconds=float(i))
    default = client.simulate_get("/api/v1/performance/functions/slowest").json["data"]
    assert [r["function_name"] for r in default] == [f"f{i:02d}" for i in range(11, 1, -1)]
    one = client.simulate_get("/api/v1/performance/functions/slowest", params={"n": "1"}).json
    assert [r["function_name"] for r in one["data"]] == ["f11"]


# ---------------------------------------------------------------- trends


def test_trends_hour_buckets_by_hand(client, calls):
    r = client.simulate_get(
        "/api/v1/performance/functions/trends", params={**WINDOW, "bucket": "hour"}
    )
    assert r.status_code == 200, r.text
    assert r.json["meta"] == {"bucket": "hour", "since": WINDOW["from"], "until": WINDOW["to"]}
    assert r.json["data"] == [
        {
            # a 07:05, a 07:35, b 07:50
            "function_name": "fetch",
            "bucket": "2025-01-15T07:00:00Z",
            "calls": 3,
            "task_size": 310,
            "solved": 285,
            "failed": 25,
            "avg_runtime_seconds": 2.667,  # (1 + 3 + 4) / 3
            "max_runtime_seconds": 4.0,
        },
        {
            "function_name": "fetch",
            "bucket": "2025-01-15T08:00:00Z",
            "calls": 1,
            "task_size": 300,
            "solved": 300,
            "failed": 0,
            "avg_runtime_seconds": 2.0,
            "max_runtime_seconds": 2.0,
        },
        {
            "function_name": "parse",
            "bucket": "2025-01-15T07:00:00Z",
            "calls": 1,
            "task_size": 50,
            "solved": 50,
            "failed": 0,
            "avg_runtime_seconds": 10.0,
            "max_runtime_seconds": 10.0,
        },
        {
            "function_name": "parse",
            "bucket": "2025-01-15T08:00:00Z",
            "calls": 1,
            "task_size": 70,
            "solved": 60,
            "failed": 10,
            "avg_runtime_seconds": 20.0,
            "max_runtime_seconds": 20.0,
        },
    ]
    from web.schemas.performance import TrendsResponse

    TrendsResponse.model_validate(r.json)


def test_trends_filters(client, calls):
    r = client.simulate_get(
        "/api/v1/performance/functions/trends",
        params={**WINDOW, "app": "scraper_a", "function_name": "fetch"},
    )
    got = [
        (p["bucket"], p["calls"], p["task_size"], p["solved"], p["failed"]) for p in r.json["data"]
    ]
    assert got == [
        ("2025-01-15T07:00:00Z", 2, 300, 280, 20),
        ("2025-01-15T08:00:00Z", 1, 300, 300, 0),
    ]
    assert r.json["data"][0]["avg_runtime_seconds"] == 2.0  # (1 + 3) / 2


def test_trends_day_buckets(client, calls):
    r = client.simulate_get(
        "/api/v1/performance/functions/trends",
        params={"bucket": "day", "from": "2025-01-14T00:00:00Z", "to": "2025-01-16T00:00:00Z"},
    )
    assert r.status_code == 200, r.text
    got = [(p["function_name"], p["bucket"], p["calls"], p["task_size"]) for p in r.json["data"]]
    assert got == [
        ("fetch", "2025-01-14T00:00:00Z", 1, 5),
        ("fetch", "2025-01-15T00:00:00Z", 4, 610),  # 100 + 200 + 300 + 10
        ("parse", "2025-01-15T00:00:00Z", 2, 120),
        ("process_records", "2025-01-15T00:00:00Z", 1, 1000),
    ]
    fetch_15 = r.json["data"][1]
    assert fetch_15["avg_runtime_seconds"] == 2.5  # (1 + 3 + 2 + 4) / 4
    assert (fetch_15["solved"], fetch_15["failed"]) == (585, 25)


def test_trends_default_window_is_the_last_day_of_hours(client, db):
    app = make_app()
    now = utcnow()
    recent = now - dt.timedelta(minutes=30)
    make_function_log(app, started=recent, task_size=7)
    make_function_log(app, started=now - dt.timedelta(hours=30), task_size=1000)
    r = client.simulate_get("/api/v1/performance/functions/trends")
    assert r.status_code == 200
    (point,) = r.json["data"]
    assert point["bucket"] == iso(recent.replace(minute=0, second=0, microsecond=0))
    assert point["task_size"] == 7
    since = dt.datetime.fromisoformat(r.json["meta"]["since"].replace("Z", ""))
    until = dt.datetime.fromisoformat(r.json["meta"]["until"].replace("Z", ""))
    assert until - since == dt.timedelta(hours=24)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"bucket": "week"}, 422),
        ({"bucket": "hour", "from": "2024-01-01T00:00:00Z", "to": "2024-02-02T00:00:00Z"}, 400),
        ({"bucket": "hour", "from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}, 200),
        ({"bucket": "day", "from": "2024-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z"}, 400),
        ({"from": "2025-01-15T09:00:00Z", "to": "2025-01-15T09:00:00Z"}, 400),
    ],
)
def test_trends_parameters(client, db, params, status):
    r = client.simulate_get("/api/v1/performance/functions/trends", params=params)
    assert r.status_code == status, r.text


# ---------------------------------------------------------------- history


def test_history_of_one_app_by_hand(client, calls):
    r = client.simulate_get(
        "/api/v1/performance/functions/scraper_a", params={**WINDOW, "bucket": "hour"}
    )
    assert r.status_code == 200, r.text
    data = r.json["data"]
    assert (data["app_id"], data["bucket"]) == ("scraper_a", "hour")
    assert (data["since"], data["until"]) == (WINDOW["from"], WINDOW["to"])
    fetch, parse = data["functions"]
    assert fetch == {
        "function_name": "fetch",
        "total_calls": 3,
        "avg_runtime_seconds": 2.0,
        "max_runtime_seconds": 3.0,
        "avg_task_size": 200.0,
        "solved": 580,
        "failed": 20,
        "points": [
            {
                "bucket": "2025-01-15T07:00:00Z",
                "calls": 2,
                "task_size": 300,
                "solved": 280,
                "failed": 20,
                "avg_runtime_seconds": 2.0,
                "max_runtime_seconds": 3.0,
            },
            {
                "bucket": "2025-01-15T08:00:00Z",
                "calls": 1,
                "task_size": 300,
                "solved": 300,
                "failed": 0,
                "avg_runtime_seconds": 2.0,
                "max_runtime_seconds": 2.0,
            },
        ],
    }
    assert parse["total_calls"] == 2
    assert parse["avg_runtime_seconds"] == 15.0
    assert parse["avg_task_size"] == 60.0
    assert (parse["solved"], parse["failed"]) == (110, 10)
    assert [p["bucket"] for p in parse["points"]] == [
        "2025-01-15T07:00:00Z",
        "2025-01-15T08:00:00Z",
    ]
    from web.schemas.performance import AppHistoryResponse

    AppHistoryResponse.model_validate(r.json)


def test_history_days_and_function_filter(client, calls):
    r = client.simulate_get(
        "/api/v1/performance/functions/scraper_a",
        params={
            "from": "2025-01-14T00:00:00Z",
            "to": "2025-01-16T00:00:00Z",
            "function_name": "fetch",
        },
    )
    assert r.status_code == 200, r.text
    (fetch,) = r.json["data"]["functions"]
    assert r.json["data"]["bucket"] == "day"
    assert fetch["total_calls"] == 4
    assert fetch["avg_runtime_seconds"] == 2.75
    assert [(p["bucket"], p["calls"]) for p in fetch["points"]] == [
        ("2025-01-14T00:00:00Z", 1),
        ("2025-01-15T00:00:00Z", 3),
    ]


def test_history_unknown_app_is_404_but_an_app_with_only_logs_is_found(client, calls):
    r = client.simulate_get("/api/v1/performance/functions/nobody")
    assert r.status_code == 404
    assert r.json["error"]["code"] == "NOT_FOUND"
    FunctionLog.create(app="retired_app", function_name="fetch", runtime_seconds=1.0)
    r = client.simulate_get("/api/v1/performance/functions/retired_app")
    assert r.status_code == 200
    assert r.json["data"]["functions"][0]["total_calls"] == 1
    empty = client.simulate_get("/api/v1/performance/functions/scraper_b")  # nothing lately
    assert empty.status_code == 200
    assert empty.json["data"]["functions"] == []


def test_literal_routes_win_over_the_app_id(client, db):
    # even with apps named like the literal segments, those paths are the fleet's figures
    for name in ("slowest", "trends"):
        make_function_log(make_app(id=name), function_name=f"of_{name}", runtime_seconds=1.0)
    slowest = client.simulate_get("/api/v1/performance/functions/slowest").json
    assert isinstance(slowest["data"], list)
    assert {r["app_id"] for r in slowest["data"]} == {"slowest", "trends"}
    trends = client.simulate_get("/api/v1/performance/functions/trends").json
    assert trends["meta"]["bucket"] == "hour"


# ---------------------------------------------------------------- access and docs


def test_viewer_may_read_and_anonymous_may_not(client_as, anonymous, calls):
    viewer = client_as(Role.VIEWER)
    for path in (
        "/api/v1/performance/functions",
        "/api/v1/performance/functions/slowest",
        "/api/v1/performance/functions/trends",
        "/api/v1/performance/functions/scraper_a",
    ):
        assert viewer.simulate_get(path).status_code == 200, path
        assert anonymous.simulate_get(path).status_code == 401, path


def test_openapi_names_the_from_and_to_parameters(client):
    doc = client.simulate_get("/api/openapi.json").json
    for path in ("", "/slowest", "/trends", "/{app_id}"):
        get = doc["paths"][f"/api/v1/performance/functions{path}"]["get"]
        names = {p["name"] for p in get["parameters"]}
        assert {"from", "to"} <= names, path
        assert not {"since", "until"} & names, path
