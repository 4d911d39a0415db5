"""GET /api/v1/logs and /api/v1/logs/export on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re

import orjson
import pytest

from control.auth.roles import Role
from control.logs.models import Logs
from tests.factories import make_app, make_log
from web.schemas.logs import LogListResponse

URL = "/api/v1/logs"
EXPORT = "/api/v1/logs/export"
T0 = dt.datetime(2025, 1, 15, 7, 0)
R1 = "20250115_070000_scraper_de_registry"
R2 = "20250115_070000_scraper_fr_gazette"

# (key, app, level, message, minute, runtime)
SEED = [
    ("fetched", "scraper_de_registry", 20, "Fetched 500 records from registry", 0, R1),
    ("timeout_de", "scraper_de_registry", 30, "Timeout after 30s on registry page 4", 1, R1),
    ("timeout_caps", "scraper_de_registry", 40, "Connection TIMEOUT; retry budget spent", 2, R1),
    ("timeout_fr", "scraper_fr_gazette", 30, "timeout while parsing gazette", 3, R2),
    ("timeout_debug", "scraper_fr_gazette", 10, "debug: timeout counter=3", 4, R2),
    ("timeout_x", "scraperXde", 40, "timeout in the X scraper", 5, None),
    ("timeout_parser", "parser_de", 50, "Fatal: timeout and disk full", 6, None),
    ("disk", "scraper_de_registry", 50, "Disk full on /var/data", 7, R1),
    ("formula", "scraper_fr_gazette", 20, '=HYPERLINK("http://evil.example") "quoted"', 8, None),
    ("signs", "scraper_fr_gazette", 30, "-1 records; +2 retries; @admin notified", 9, None),
    ("plural", "scraper_de_registry", 20, "timeouts are counted hourly", 10, R1),
    ("custom", "scraper_de_registry", 25, "a custom level", 11, R1),
]


@pytest.fixture
def logs(db):
    """The SEED records by key; 'twin' shares its timestamp with 'plural'."""
    apps = {}
    rows = {}
    for key, app_id, level, message, minute, runtime in SEED:
        app = apps.get(app_id) or make_app(id=app_id)
        apps[app_id] = app
        rows[key] = make_log(
            app,
            level=level,
            message=message,
            timestamp=T0 + dt.timedelta(minutes=minute),
            runtime=runtime,
            module="registry.fetch" if key != "signs" else "@module",
            function="run",
        )
    rows["twin"] = make_log(
        apps["scraper_fr_gazette"],
        level=20,
        message="same instant as plural",
        timestamp=T0 + dt.timedelta(minutes=10),
    )
    return rows


def newest_first(rows, keys=None) -> list[int]:
    chosen = rows.values() if keys is None else [rows[k] for k in keys]
    return [r.id for r in sorted(chosen, key=lambda r: (r.timestamp, r.id), reverse=True)]


def ids(body) -> list[int]:
    return [item["id"] for item in body["data"]]


def get_ids(client, **params) -> list[int]:
    r = client.simulate_get(URL, params=params)
    assert r.status_code == 200, r.text
    return ids(r.json)


# --- The list ---------------------------------------------------------------------------


def test_list_newest_first_and_item_shape(client, logs):
    r = client.simulate_get(URL)
    assert r.status_code == 200, r.text
    LogListResponse.model_validate(r.json)
    assert ids(r.json) == newest_first(logs)
    assert r.json["meta"] == {"limit": 100, "next_cursor": None}
    # same timestamp: the larger id first
    assert ids(r.json).index(logs["twin"].id) < ids(r.json).index(logs["plural"].id)
    item = next(i for i in r.json["data"] if i["id"] == logs["timeout_de"].id)
    assert item == {
        "id": logs["timeout_de"].id,
        "app": "scraper_de_registry",
        "runtime": R1,
        "level": "WARNING",
        "level_no": 30,
        "module": "registry.fetch",
        "function": "run",
        "message": "Timeout after 30s on registry page 4",
        "timestamp": "2025-01-15T07:01:00Z",
    }
    custom = next(i for i in r.json["data"] if i["id"] == logs["custom"].id)
    assert (custom["level"], custom["level_no"]) == ("Level 25", 25)


@pytest.mark.parametrize("level", ["WARNING", "warning", "Warning", "30", " WARNING "])
def test_minimum_level(client, logs, level):
    expected = [k for k, _, lvl, *_ in SEED if lvl >= 30]
    got = get_ids(client, level=level)
    assert got == newest_first(logs, expected)
    assert {i["level"] for i in client.simulate_get(URL, params={"level": level}).json["data"]} == {
        "WARNING",
        "ERROR",
        "CRITICAL",
    }


def test_other_levels(client, logs):
    assert get_ids(client, level="ERROR") == newest_first(
        logs, ["timeout_caps", "timeout_x", "timeout_parser", "disk"]
    )
    assert get_ids(client, level="25") == newest_first(
        logs, [k for k, _, lvl, *_ in SEED if lvl >= 25]
    )
    assert get_ids(client, level="debug") == newest_first(logs)


@pytest.mark.parametrize("level", ["LOUD", "-1", "101", "3.5", ""])
def test_invalid_level_is_422(client, logs, level):
    r = client.simulate_get(URL, params={"level": level})
    assert r.status_code == 422, r.text
    assert r.json["error"]["details"][0]["field"] == "level"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            "scraper_de_registry",
            ["fetched", "timeout_de", "timeout_caps", "disk", "plural", "custom"],
        ),
        (
            "scraper_*",  # not scraperXde: '_' is literal
            [k for k, a, *_ in SEED if a.startswith("scraper_")] + ["twin"],
        ),
        ("scraper_f?_*", ["timeout_fr", "timeout_debug", "formula", "signs", "twin"]),
        ("*_de", ["timeout_parser"]),
        ("scraper", []),
        ("SCRAPER_*", []),  # case-sensitive on both dialects
    ],
)
def test_app_filter(client, logs, pattern, expected):
    assert get_ids(client, app=pattern) == newest_first(logs, expected)


def test_runtime_filter(client, logs):
    expected = [k for k, *_, runtime in SEED if runtime == R1]
    assert get_ids(client, runtime=R1) == newest_first(logs, expected)
    assert get_ids(client, runtime="nope") == []


def test_time_boundaries(client, logs):
    # from inclusive, to exclusive
    got = get_ids(client, **{"from": "2025-01-15T07:02:00Z", "to": "2025-01-15T07:04:00Z"})
    assert got == newest_first(logs, ["timeout_caps", "timeout_fr"])
    got = get_ids(client, **{"from": "2025-01-15T08:09:00+01:00"})  # = 07:09Z
    assert got == newest_first(logs, ["signs", "plural", "twin", "custom"])


TIMEOUT_WORD = ["timeout_de", "timeout_caps", "timeout_fr", "timeout_debug", "timeout_x"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        # the word, any case; 'timeouts' is another word (no stemming, no prefixes)
        ("timeout", [*TIMEOUT_WORD, "timeout_parser"]),
        ("TIMEOUT", [*TIMEOUT_WORD, "timeout_parser"]),
        ("timeout;", [*TIMEOUT_WORD, "timeout_parser"]),
        ("timeout*", [*TIMEOUT_WORD, "timeout_parser"]),
        ('"timeout"', [*TIMEOUT_WORD, "timeout_parser"]),
        # several words: all of them
        ("timeout registry", ["timeout_de"]),
        ("registry timeout", ["timeout_de"]),
        ("disk full", ["timeout_parser", "disk"]),
        ("timeout disk", ["timeout_parser"]),
        ("hyperlink", ["formula"]),
        ("timeouts", ["plural"]),
        # no match, and search syntax that must not reach the engine
        ("nonexistent", []),
        ('"', []),
        ("*", []),
        ("AND OR", []),
        ("timeout OR disk", []),
        ("NEAR(timeout disk)", []),
        ("message:timeout", []),
        ("timeout -disk", ["timeout_parser"]),  # no operators: '-' is punctuation
        ("'; DROP TABLE logs; --", []),
    ],
)
def test_full_text_search(client, logs, search, expected):
    assert get_ids(client, search=search) == newest_first(logs, expected)


def test_search_level_and_app_glob_combined(client, logs):
    """The acceptance query: search=timeout&level=WARNING&app=scraper_*."""
    got = get_ids(client, search="timeout", level="WARNING", app="scraper_*")
    # not timeout_debug (DEBUG), timeout_x (scraperXde), timeout_parser (parser_de)
    assert got == newest_first(logs, ["timeout_de", "timeout_caps", "timeout_fr"])


def test_cursor_walks_every_record_once(client, logs):
    for params in ({}, {"level": "WARNING"}, {"search": "timeout"}):
        seen, cursor, pages = [], None, 0
        while True:
            query = {**params, "limit": "3"} | ({"cursor": cursor} if cursor else {})
            body = client.simulate_get(URL, params=query).json
            assert len(body["data"]) <= 3
            seen += ids(body)
            pages += 1
            cursor = body["meta"]["next_cursor"]
            if cursor is None:
                break
        assert seen == get_ids(client, **params, limit="1000")
        assert pages == -(-len(seen) // 3)


@pytest.mark.parametrize(
    "mangle", [lambda c: ("A" if c[0] != "A" else "B") + c[1:], lambda c: c + "x", lambda c: "x"]
)
def test_tampered_cursor_is_400(client, logs, mangle):
    cursor = client.simulate_get(URL, params={"limit": "2"}).json["meta"]["next_cursor"]
    r = client.simulate_get(URL, params={"limit": "2", "cursor": mangle(cursor)})
    assert r.status_code == 400
    assert r.json["error"]["details"] == [
        {"field": "cursor", "message": "invalid or expired cursor"}
    ]


def test_default_limit_is_100_and_bounded(client, db):
    app = make_app(id="scraper_bulk")
    Logs.insert_many(
        [{"app": app.id, "level": 20, "message": f"m{i}", "timestamp": T0} for i in range(150)]
    ).execute()
    body = client.simulate_get(URL).json
    assert len(body["data"]) == 100
    assert body["meta"]["limit"] == 100
    assert body["meta"]["next_cursor"]
    assert len(client.simulate_get(URL, params={"limit": "1000"}).json["data"]) == 150
    for limit in ("0", "1001", "many"):
        r = client.simulate_get(URL, params={"limit": limit})
        assert r.status_code == 422
        assert r.json["error"]["details"][0]["field"] == "limit"


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "soon"}, 422, "from"),
        ({"search": ""}, 422, "search"),
        ({"search": "x" * 201}, 422, "search"),
        ({"sort": "level"}, 400, "sort"),
        ({"since": "2025-01-15T07:00:00"}, 400, "since"),  # the parameter is 'from'
    ],
)
def test_invalid_parameters(client, logs, params, status, field):
    r = client.simulate_get(URL, params=params)
    assert r.status_code == status, r.text
    assert r.json["error"]["details"][0]["field"] == field


# --- The export ---------------------------------------------------------------------------


FILENAME = re.compile(r'^attachment; filename="logs-\d{8}T\d{6}Z\.(ndjson|csv)"$')


def test_export_ndjson_is_the_list(client, logs):
    params = {"level": "WARNING", "app": "scraper_*"}
    r = client.simulate_get(EXPORT, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-ndjson"
    assert FILENAME.match(r.headers["content-disposition"])
    assert r.headers["content-disposition"].endswith('.ndjson"')
    lines = r.text.splitlines()
    assert r.text.endswith("\n")
    assert [orjson.loads(line) for line in lines] == client.simulate_get(URL, params=params).json[
        "data"
    ]
    assert len(lines) == 5  # timeout_de, timeout_caps, timeout_fr, disk, signs
    # and the whole table without filters
    everything = client.simulate_get(EXPORT).text.splitlines()
    assert [orjson.loads(x)["id"] for x in everything] == newest_first(logs)


def test_export_csv_with_header_and_neutralised_formulas(client, logs):
    r = client.simulate_get(EXPORT, params={"format": "csv", "app": "scraper_fr_gazette"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert FILENAME.match(r.headers["content-disposition"])
    assert r.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(r.text)))
    header, *body = rows
    assert header == [
        "id",
        "timestamp",
        "app",
        "runtime",
        "level",
        "level_no",
        "module",
        "function",
        "message",
    ]
    expected = newest_first(logs, ["timeout_fr", "timeout_debug", "formula", "signs", "twin"])
    assert [int(row[0]) for row in body] == expected
    by_id = {int(row[0]): row for row in body}
    assert by_id[logs["formula"].id][8] == '\'=HYPERLINK("http://evil.example") "quoted"'
    signs = by_id[logs["signs"].id]
    assert signs[8] == "'-1 records; +2 retries; @admin notified"
    assert signs[6] == "'@module"
    assert signs[3] == ""  # no runtime
    fr = by_id[logs["timeout_fr"].id]
    assert fr == [
        str(logs["timeout_fr"].id),
        "2025-01-15T07:03:00Z",
        "scraper_fr_gazette",
        R2,
        "WARNING",
        "30",
        "registry.fetch",
        "run",
        "timeout while parsing gazette",
    ]


def test_export_search_and_empty(client, logs):
    r = client.simulate_get(EXPORT, params={"search": "timeout registry"})
    assert [orjson.loads(x)["id"] for x in r.text.splitlines()] == [logs["timeout_de"].id]
    empty = client.simulate_get(EXPORT, params={"search": "nothing-here", "format": "csv"})
    assert empty.status_code == 200
    assert empty.text.splitlines() == [
        "id,timestamp,app,runtime,level,level_no,module,function,message"
    ]
    assert client.simulate_get(EXPORT, params={"search": "nothing"}).text == ""


@pytest.mark.parametrize(
    ("params", "field"),
    [({"format": "xml"}, "format"), ({"limit": "0"}, "limit"), ({"level": "LOUD"}, "level")],
)
def test_export_invalid_parameters_are_422(client, logs, params, field):
    r = client.simulate_get(EXPORT, params=params)
    assert r.status_code == 422
    assert r.json["error"]["details"][0]["field"] == field
    assert client.simulate_get(EXPORT, params={"cursor": "x"}).status_code == 400


@pytest.fixture
def bulk(db):
    """5,000 records over five apps, one a second; every 7th is a WARNING."""
    apps = [make_app(id=f"scraper_bulk_{n}").id for n in range(5)]
    rows = [
        {
            "app": apps[i % 5],
            "level": 30 if i % 7 == 0 else 20,
            "message": f"record {i} =sum(A1) {'timeout' if i % 10 == 0 else 'ok'}",
            "timestamp": T0 + dt.timedelta(seconds=i),
        }
        for i in range(5000)
    ]
    for start in range(0, len(rows), 500):
        Logs.insert_many(rows[start : start + 500]).execute()
    return rows


def test_export_of_5000_records_is_complete(client, bulk):
    r = client.simulate_get(EXPORT)
    lines = r.text.splitlines()
    assert len(lines) == 5000
    items = [orjson.loads(line) for line in lines]
    assert [i["message"] for i in items] == [row["message"] for row in reversed(bulk)]
    assert len({i["id"] for i in items}) == 5000

    csv_rows = list(
        csv.reader(io.StringIO(client.simulate_get(EXPORT, params={"format": "csv"}).text))
    )
    assert len(csv_rows) == 5001
    assert {row[8][:7] for row in csv_rows[1:]} == {"record "}  # nothing to neutralise

    # 715 warnings (i % 7 == 0); the cap keeps the newest 500
    capped = client.simulate_get(EXPORT, params={"limit": "500", "level": "WARNING"})
    warnings = [row["message"] for row in reversed(bulk) if row["level"] == 30]
    assert len(warnings) == 715
    assert [orjson.loads(x)["message"] for x in capped.text.splitlines()] == warnings[:500]
    searched = client.simulate_get(EXPORT, params={"search": "timeout", "app": "scraper_bulk_0"})
    assert len(searched.text.splitlines()) == 500  # i % 10 == 0 are all app 0


def test_export_streams_in_batches(app, token_for, make_user, bulk):
    """The body leaves in several ASGI messages, one per batch of 1,000 records."""
    token = token_for(make_user(Role.VIEWER))
    messages: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": EXPORT,
        "raw_path": EXPORT.encode(),
        "query_string": b"format=ndjson",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = messages[0]
    assert start["type"] == "http.response.start"
    assert start["status"] == 200
    headers = dict(start["headers"])
    assert b"content-length" not in headers
    bodies = [m.get("body", b"") for m in messages[1:] if m["type"] == "http.response.body"]
    chunks = [body for body in bodies if body]
    assert len(chunks) >= 5
    assert all(len(chunk.splitlines()) <= 1000 for chunk in chunks)
    assert sum(len(chunk.splitlines()) for chunk in chunks) == 5000


# --- Who may ------------------------------------------------------------------------------


def test_viewer_may_read_and_export_and_anonymous_may_not(client_as, anonymous, logs):
    viewer = client_as(Role.VIEWER)
    assert viewer.simulate_get(URL).status_code == 200
    r = viewer.simulate_get(EXPORT, params={"format": "csv"})
    assert r.status_code == 200
    assert len(r.text.splitlines()) == len(logs) + 1
    for path in (URL, EXPORT):
        r = anonymous.simulate_get(path)
        assert r.status_code == 401
        assert "www-authenticate" in r.headers


def test_documented_parameters(client, db):
    doc = client.simulate_get("/api/openapi.json").json
    names = {p["name"] for p in doc["paths"][URL]["get"]["parameters"]}
    assert names == {"app", "level", "from", "to", "search", "runtime", "cursor", "limit"}
    export = {p["name"] for p in doc["paths"][EXPORT]["get"]["parameters"]}
    assert export == {"app", "level", "from", "to", "search", "runtime", "format", "limit"}
    limit = next(p for p in doc["paths"][URL]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["default"], limit["schema"]["maximum"]) == (100, 1000)
