"""GET /api/v1/activity and /api/v1/activity/stats on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from control.audit.models import AuditLog
from control.auth.roles import Role
from control.clock import utcnow
from control.enums import FatalFlag, RunStatus, RuntimeStatus
from tests.factories import make_app, make_runtime

URL = "/api/v1/activity"
STATS = "/api/v1/activity/stats"
BASE = dt.datetime(2025, 1, 15, 7, 0)
ITEM_FIELDS = {
    "id",
    "at",
    "actor",
    "actor_type",
    "role",
    "ip",
    "action",
    "method",
    "endpoint",
    "summary",
    "status",
    "outcome",
    "request_id",
}

# (minute after BASE, actor, action, outcome); rows 5 and 6 share an instant
SEED = [
    (0, "alice@example.com", "apps.start", "success"),
    (1, "bob@example.com", "apps.stop", "success"),
    (2, "alice@example.com", "auth.login", "success"),
    (3, "anonymous", "auth.login_failed", "failed"),
    (4, "alice@example.com", "apps.start", "denied"),
    (5, "svc-ingest", "app_sync.run", "success"),
    (5, "bob@example.com", "settings.update", "success"),
    (7, "alice@example.com", "apps.update", "error"),
    (8, "carol@example.com", "apps.start", "success"),
    (9, "alice@example.com", "auth.logout", "success"),
]


@pytest.fixture
def feed(db) -> list[AuditLog]:
    return [
        AuditLog.create(
            at=BASE + dt.timedelta(minutes=minute),
            actor=actor,
            actor_type="service" if actor.startswith("svc") else "user",
            role="operator",
            ip="192.0.2.7",
            action=action,
            method="POST",
            endpoint=f"/api/v1/{action.replace('.', '/')}",
            summary={"n": n},
            status=200,
            outcome=outcome,
            request_id=f"req-{n:04d}",
        )
        for n, (minute, actor, action, outcome) in enumerate(SEED)
    ]


def ids(result) -> list[int]:
    return [item["summary"]["n"] for item in result.json["data"]]


NEWEST_FIRST = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]  # 6 before 5: same instant, larger id


def test_admin_sees_rows_newest_first_with_every_field(client, feed):
    r = client.simulate_get(URL)
    assert r.status_code == 200, r.text
    assert ids(r) == NEWEST_FIRST
    assert r.json["meta"] == {"limit": 50, "next_cursor": None}
    first = r.json["data"][0]
    assert set(first) == ITEM_FIELDS
    assert first == {
        "id": feed[9].id,
        "at": "2025-01-15T07:09:00Z",
        "actor": "alice@example.com",
        "actor_type": "user",
        "role": "operator",
        "ip": "192.0.2.7",
        "action": "auth.logout",
        "method": "POST",
        "endpoint": "/api/v1/auth/logout",
        "summary": {"n": 9},
        "status": 200,
        "outcome": "success",
        "request_id": "req-0009",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor": "alice@example.com"}, [9, 7, 4, 2, 0]),
        ({"actor": "ALICE@example.com"}, []),  # exact
        ({"action": "apps.start"}, [8, 4, 0]),
        ({"action": "apps.*"}, [8, 7, 4, 1, 0]),
        ({"action": "auth.*"}, [9, 3, 2]),
        ({"action": "app_*"}, [5]),  # the _ is literal, not a LIKE wildcard
        ({"action": "apps"}, []),
        ({"outcome": "success"}, [9, 8, 6, 5, 2, 1, 0]),
        ({"action": "apps.*", "outcome": "success"}, [8, 1, 0]),
        ({"from": "2025-01-15T07:02:00Z", "to": "2025-01-15T07:05:00Z"}, [4, 3, 2]),
        ({"from": "2025-01-15T09:02:00+02:00", "to": "2025-01-15T09:05:00+02:00"}, [4, 3, 2]),
        ({"from": "2025-01-15T07:05:00"}, [9, 8, 7, 6, 5]),  # no zone: UTC; inclusive
        ({"to": "2025-01-15T07:01:00Z"}, [0]),  # exclusive
        ({"actor": "bob@example.com", "from": "2025-01-15T07:03:00Z"}, [6]),
        ({"from": "2025-01-15T08:00:00Z"}, []),
    ],
)
def test_filters(client, feed, params, expected):
    r = client.simulate_get(URL, params=params)
    assert r.status_code == 200, r.text
    assert ids(r) == expected


@pytest.mark.parametrize(("limit", "pages"), [(3, 4), (5, 2), (1, 10), (10, 1), (100, 1)])
def test_cursor_walks_every_row_once(client, feed, limit, pages):
    seen, cursor, count = [], None, 0
    while True:
        params = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        r = client.simulate_get(URL, params=params)
        assert r.status_code == 200, r.text
        seen += ids(r)
        count += 1
        cursor = r.json["meta"]["next_cursor"]
        if cursor is None:
            break
    assert seen == NEWEST_FIRST
    assert count == pages


def test_cursor_keeps_the_filters_it_is_given(client, feed):
    first = client.simulate_get(URL, params={"action": "apps.*", "limit": "2"}).json
    assert [i["summary"]["n"] for i in first["data"]] == [8, 7]
    rest = client.simulate_get(
        URL, params={"action": "apps.*", "limit": "2", "cursor": first["meta"]["next_cursor"]}
    ).json
    assert [i["summary"]["n"] for i in rest["data"]] == [4, 1]


def test_tampered_cursor_is_refused(client, feed):
    cursor = client.simulate_get(URL, params={"limit": "2"}).json["meta"]["next_cursor"]
    body, signature = cursor.split(".")
    r = client.simulate_get(URL, params={"cursor": f"{body}.{signature[::-1]}"})
    assert r.status_code == 400
    assert r.json["error"]["details"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": "0"}, 422),
        ({"limit": "101"}, 422),
        ({"from": "yesterday"}, 422),
        ({"outcome": "maybe"}, 422),
        ({"action": "apps.*.start"}, 422),
        ({"action": "apps;drop"}, 422),
        ({"actor_type": "user"}, 400),
    ],
)
def test_bad_parameters(client, db, params, status):
    assert client.simulate_get(URL, params=params).status_code == status


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.SERVICE])
def test_only_admins_read_the_feed(client_as, feed, role):
    r = client_as(role).simulate_get(URL)
    assert r.status_code == 403
    assert r.json["error"]["code"] == "FORBIDDEN"


def test_anonymous_gets_401(anonymous, db):
    assert anonymous.simulate_get(URL).status_code == 401
    assert anonymous.simulate_get(STATS).status_code == 401


def test_documented_parameters(client, db):
    doc = client.simulate_get("/api/openapi.json").json
    feed = doc["paths"][URL]["get"]
    names = {p["name"] for p in feed["parameters"]}
    assert names == {"cursor", "limit", "actor", "action", "outcome", "from", "to"}
    assert feed["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ActivityListResponse"
    )
    stats = doc["paths"][STATS]["get"]
    period = next(p for p in stats["parameters"] if p["name"] == "period")
    assert set(period["schema"]["enum"]) == {"last_1h", "last_24h", "last_7d"}


def test_reading_the_feed_is_not_itself_audited(client, feed):
    client.simulate_get(URL)
    client.simulate_get(STATS)
    assert AuditLog.select().count() == len(SEED)


# -- stats ---------------------------------------------------------------------------------


@pytest.fixture
def now() -> dt.datetime:
    return utcnow()


@pytest.fixture
def recent(db, now):
    """Audit rows, apps and runtimes at known distances from now."""
    audit = [
        (dt.timedelta(minutes=10), "alice", "auth.login_failed", "failed"),
        (dt.timedelta(minutes=20), "alice", "apps.start", "success"),
        (dt.timedelta(minutes=30), "bob", "apps.start", "success"),
        (dt.timedelta(hours=2), "bob", "auth.login_failed", "failed"),
        (dt.timedelta(hours=3), "carol", "auth.service_failed", "failed"),
        (dt.timedelta(hours=5), "dave", "settings.update", "success"),
        (dt.timedelta(hours=6), "erin", "apps.stop", "denied"),
        (dt.timedelta(hours=7), "frank", "apps.stop", "error"),
        (dt.timedelta(days=2), "gina", "apps.start", "success"),
        (dt.timedelta(days=10), "alice", "apps.start", "success"),
    ]
    for ago, actor, action, outcome in audit:
        AuditLog.create(at=now - ago, actor=actor, action=action, outcome=outcome)

    a = make_app(run_status=RunStatus.IDLE)
    b = make_app(run_status=RunStatus.RUNNING)
    c = make_app(run_status=RunStatus.RUNNING, disabled=True)
    d = make_app(run_status=RunStatus.FAILED, fatal_flag=FatalFlag.FATAL)
    e = make_app(run_status=RunStatus.IDLE, fatal_flag=FatalFlag.FATAL, disabled=True)
    f = make_app(run_status=RunStatus.SCHEDULED)

    def run(app, started_ago, ended_ago, status):
        make_runtime(
            app,
            started=now - started_ago,
            ended=None if ended_ago is None else now - ended_ago,
            status=status,
        )

    h, m = dt.timedelta(hours=1), dt.timedelta(minutes=1)
    run(a, 30 * m, None, RuntimeStatus.RUNNING)
    run(a, 3 * h, 170 * m, RuntimeStatus.COMPLETED)
    run(b, 50 * m, 40 * m, RuntimeStatus.COMPLETED)
    run(d, 5 * h, 4 * h, RuntimeStatus.FAILED)
    run(d, 26 * h, 20 * h, RuntimeStatus.FAILED)  # started before the day, ended in it
    run(b, 72 * h, 71 * h, RuntimeStatus.COMPLETED)
    run(c, 216 * h, 215 * h, RuntimeStatus.COMPLETED)
    run(e, 2 * h, None, RuntimeStatus.STOPPED)
    run(f, 20 * m, None, RuntimeStatus.FAILED)  # no end: counted by its start


FLEET = {
    "total": 6,
    "by_run_status": {"IDLE": 2, "SCHEDULED": 1, "RUNNING": 2, "STOPPING": 0, "FAILED": 1},
    "fatal": 2,
    "disabled": 2,
}


def test_stats_last_hour(client, recent, now):
    r = client.simulate_get(STATS, params={"period": "last_1h"})
    assert r.status_code == 200, r.text
    data = r.json["data"]
    assert data["period"] == "last_1h"
    assert data["activity"] == {
        "total": 3,
        "by_action": {"apps.start": 2, "auth.login_failed": 1},
        "by_outcome": {"success": 2, "denied": 0, "failed": 1, "error": 0},
        "failed_logins": 1,
        "top_actors": [{"actor": "alice", "count": 2}, {"actor": "bob", "count": 1}],
    }
    assert data["apps"] == FLEET
    assert data["runtimes"] == {"started": 3, "completed": 1, "failed": 1}


def test_stats_default_is_the_last_day(client, recent, now):
    data = client.simulate_get(STATS).json["data"]
    assert data["period"] == "last_24h"
    since = dt.datetime.fromisoformat(data["since"].replace("Z", ""))
    until = dt.datetime.fromisoformat(data["until"].replace("Z", ""))
    assert until - since == dt.timedelta(hours=24)
    assert dt.timedelta(0) <= until - now < dt.timedelta(minutes=1)
    activity = data["activity"]
    assert activity["total"] == 8
    assert list(activity["by_action"].items()) == [  # most frequent first, then by name
        ("apps.start", 2),
        ("apps.stop", 2),
        ("auth.login_failed", 2),
        ("auth.service_failed", 1),
        ("settings.update", 1),
    ]
    assert activity["by_outcome"] == {"success": 3, "denied": 1, "failed": 3, "error": 1}
    assert activity["failed_logins"] == 3
    assert activity["top_actors"] == [
        {"actor": "alice", "count": 2},
        {"actor": "bob", "count": 2},
        {"actor": "carol", "count": 1},
        {"actor": "dave", "count": 1},
        {"actor": "erin", "count": 1},
    ]
    assert data["apps"] == FLEET
    assert data["runtimes"] == {"started": 6, "completed": 2, "failed": 3}


def test_stats_last_week(client, recent):
    data = client.simulate_get(STATS, params={"period": "last_7d"}).json["data"]
    assert data["activity"]["total"] == 9
    assert data["activity"]["by_action"]["apps.start"] == 3
    assert [a["actor"] for a in data["activity"]["top_actors"]] == [
        "alice",
        "bob",
        "carol",
        "dave",
        "erin",
    ]
    assert data["runtimes"] == {"started": 8, "completed": 3, "failed": 3}


def test_stats_on_an_empty_database(client, db):
    data = client.simulate_get(STATS).json["data"]
    assert data["activity"] == {
        "total": 0,
        "by_action": {},
        "by_outcome": {"success": 0, "denied": 0, "failed": 0, "error": 0},
        "failed_logins": 0,
        "top_actors": [],
    }
    assert data["apps"] == {
        "total": 0,
        "by_run_status": {s.value: 0 for s in RunStatus},
        "fatal": 0,
        "disabled": 0,
    }
    assert data["runtimes"] == {"started": 0, "completed": 0, "failed": 0}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.SERVICE])
def test_stats_for_non_admins_hide_who_is_active(client_as, recent, role):
    r = client_as(role).simulate_get(STATS, params={"period": "last_1h"})
    assert r.status_code == 200, r.text
    activity = r.json["data"]["activity"]
    assert activity["top_actors"] is None
    assert activity["total"] == 3
    assert r.json["data"]["apps"] == FLEET


@pytest.mark.parametrize("params", [{"period": "last_year"}, {"period": ""}])
def test_stats_bad_period(client, db, params):
    assert client.simulate_get(STATS, params=params).status_code == 422


def test_stats_matches_response_model(client, recent):
    from web.schemas.activity import ActivityListResponse, StatsResponse

    StatsResponse.model_validate(client.simulate_get(STATS).json)
    AuditLog.create(action="apps.start", outcome="success")
    ActivityListResponse.model_validate(client.simulate_get(URL).json)
