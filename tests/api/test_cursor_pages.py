"""Keyset pages with opaque, tamper-checked cursors, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt

import falcon.asgi
import falcon.testing
import pytest

from control.auth.roles import Role
from control.logs.models import Logs
from control.querying import keyset_page
from control.settings import load_settings
from tests.factories import make_app, make_log
from web import envelope
from web.app import create_app
from web.concurrency import run_db
from web.cursor import CursorCodec
from web.openapi import operation
from web.permissions import READ
from web.validation import CursorQuery

codec = CursorCodec(b"test-secret")
ORDER = ((Logs.timestamp, True), (Logs.id, True))  # newest first, id breaks ties


def _page(after, limit):
    rows, key = keyset_page(Logs.select(), ORDER, after, limit)
    return [{"id": r.id, "message": r.message} for r in rows], key


class LogsResource:
    @operation("Logs, newest first", query=CursorQuery, roles=READ)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        q = req.context.query
        after = codec.decode(req.path, q.cursor) if q.cursor else None
        items, key = await run_db(_page, after, q.limit)
        resp.media = envelope.cursor_page(
            items, codec.encode(req.path, key) if key else None, q.limit
        )


@pytest.fixture
def client(db, services, make_user, token_for):
    app = create_app(load_settings(), bind_database=False, services=services)
    resource = LogsResource()
    app.add_route("/api/v1/test/logs", resource)
    app.add_route("/api/v1/test/other", resource)
    token = token_for(make_user(Role.VIEWER))
    return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def logs(db):
    app = make_app()
    base = dt.datetime(2025, 1, 15, 7, 0)
    # 23 records; pairs share a timestamp so the id tiebreak matters
    return [
        make_log(app, message=f"m{i:02d}", timestamp=base + dt.timedelta(seconds=i // 2))
        for i in range(23)
    ]


def test_walks_every_row_once_newest_first(client, logs):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "5"} | ({"cursor": cursor} if cursor else {})
        body = client.simulate_get("/api/v1/test/logs", params=params).json
        seen += [item["message"] for item in body["data"]]
        pages += 1
        cursor = body["meta"]["next_cursor"]
        assert body["meta"]["limit"] == 5
        if cursor is None:
            break
    expected = [
        log.message for log in sorted(logs, key=lambda r: (r.timestamp, r.id), reverse=True)
    ]
    assert seen == expected
    assert pages == 5


def test_rows_inserted_meanwhile_do_not_shift_the_page(client, logs):
    first = client.simulate_get("/api/v1/test/logs", params={"limit": "5"}).json
    make_log(make_app(), message="newer", timestamp=dt.datetime(2030, 1, 1))
    second = client.simulate_get(
        "/api/v1/test/logs", params={"limit": "5", "cursor": first["meta"]["next_cursor"]}
    ).json
    first_ids = {i["id"] for i in first["data"]}
    assert not first_ids & {i["id"] for i in second["data"]}
    assert "newer" not in [i["message"] for i in second["data"]]


def _tamper(cursor: str) -> str:
    body, signature = cursor.split(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).replace(b"2025", b"2024")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + signature


@pytest.mark.parametrize(
    "mangle",
    [
        _tamper,
        lambda c: c + "x",
        lambda c: "not-a-cursor",
        lambda c: c.split(".")[0],
        lambda c: "." + c.split(".")[1],
    ],
)
def test_tampered_cursor_is_400(client, logs, mangle):
    cursor = client.simulate_get("/api/v1/test/logs", params={"limit": "5"}).json["meta"][
        "next_cursor"
    ]
    r = client.simulate_get("/api/v1/test/logs", params={"limit": "5", "cursor": mangle(cursor)})
    assert r.status_code == 400
    assert r.json["error"]["details"] == [
        {"field": "cursor", "message": "invalid or expired cursor"}
    ]


def test_cursor_from_another_list_is_refused(client, logs):
    cursor = client.simulate_get("/api/v1/test/logs", params={"limit": "5"}).json["meta"][
        "next_cursor"
    ]
    r = client.simulate_get("/api/v1/test/other", params={"limit": "5", "cursor": cursor})
    assert r.status_code == 400


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_limit_bounds(client, logs, limit):
    r = client.simulate_get("/api/v1/test/logs", params={"limit": limit})
    assert r.status_code == 422
    assert r.json["error"]["details"][0]["field"] == "limit"
