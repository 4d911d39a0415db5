"""GET /api/v1/apps/{id}/health, /api/v1/health/fleet and the app list's health filter
and field, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from control.auth.roles import Role
from control.clock import utcnow
from control.health.models import AppBaseline, HealthVerdict
from tests.factories import make_app


def verdict(app_id: str, name: str, *, cleared: bool = False) -> HealthVerdict:
    now = utcnow()
    return HealthVerdict.create(
        app=app_id,
        verdict=name,
        raised_at=now - dt.timedelta(minutes=5),
        cleared_at=now if cleared else None,
        evidence={"why": name},
    )


def test_app_health_shows_baseline_verdicts_and_history(client_as):
    app = make_app(settings={"health": {"slow_factor": 2}})
    AppBaseline.create(
        app=app.id,
        samples=[["r1", 10, 5], ["r2", 20, 7]],
        runs=2,
        duration_p50=15,
        duration_p95=19.5,
        records_p50=6,
        last_run={"runtime": "r2", "status": "COMPLETED", "slow": None, "low_output": None},
    )
    verdict(app.id, "missed", cleared=True)
    verdict(app.id, "slow")
    r = client_as(Role.VIEWER).simulate_get(f"/api/v1/apps/{app.id}/health")
    assert r.status_code == 200, r.text
    data = r.json["data"]
    assert data["status"] == "unhealthy"
    assert data["baseline"]["runs"] == 2
    assert data["baseline"]["duration_p95"] == 19.5
    assert data["baseline"]["last_run"]["runtime"] == "r2"
    assert data["thresholds"]["slow_factor"] == 2  # the app's own override
    assert [v["verdict"] for v in data["verdicts"]] == ["slow"]
    assert data["verdicts"][0]["evidence"] == {"why": "slow"}
    assert sorted(v["verdict"] for v in data["history"]) == ["missed", "slow"]


def test_app_health_of_an_app_without_history(client):
    app = make_app()
    data = client.simulate_get(f"/api/v1/apps/{app.id}/health").json["data"]
    assert data["status"] == "ok"
    assert data["baseline"]["runs"] == 0
    assert data["verdicts"] == data["history"] == []


def test_app_health_of_an_unknown_app_is_404(client):
    assert client.simulate_get("/api/v1/apps/nope/health").status_code == 404


def test_fleet_counts_per_verdict(client_as):
    a, b, _ = make_app(), make_app(), make_app()
    verdict(a.id, "slow")
    verdict(b.id, "slow")
    verdict(b.id, "failing")
    verdict(a.id, "missed", cleared=True)
    r = client_as(Role.VIEWER).simulate_get("/api/v1/health/fleet")
    assert r.status_code == 200, r.text
    data = r.json["data"]
    assert data["apps_total"] == 3
    assert data["apps_unhealthy"] == 2
    assert data["verdicts"]["slow"] == {"count": 2, "apps": sorted([a.id, b.id])}
    assert data["verdicts"]["failing"] == {"count": 1, "apps": [b.id]}
    assert data["verdicts"]["missed"] == {"count": 0, "apps": []}


def test_the_app_list_filters_and_shows_health(client):
    a, b, c = make_app(), make_app(), make_app()
    verdict(a.id, "slow")
    verdict(b.id, "low_output")
    verdict(b.id, "failing")
    verdict(c.id, "missed", cleared=True)

    def ids(**params: str) -> list[str]:
        r = client.simulate_get("/api/v1/apps", params={"sort": "id", **params})
        assert r.status_code == 200, r.text
        return [row["id"] for row in r.json["data"]]

    assert ids(health="slow") == [a.id]
    assert ids(health="unhealthy") == sorted([a.id, b.id])
    assert ids(health="ok") == [c.id]
    # read with the page (one statement), whichever way the page is chosen: by offset,
    # by cursor, or ids first (sorted by "Last run")
    expected = {a.id: ["slow"], b.id: ["failing", "low_output"], c.id: []}
    rows = {row["id"]: row["health"] for row in client.simulate_get("/api/v1/apps").json["data"]}
    assert rows == expected
    by_last_run = client.simulate_get("/api/v1/apps", params={"sort": "-last_run"}).json["data"]
    assert {row["id"]: row["health"] for row in by_last_run} == expected
    first = client.simulate_get("/api/v1/apps", params={"sort": "id", "per_page": 1}).json
    second = client.simulate_get(
        "/api/v1/apps", params={"cursor": first["meta"]["next_cursor"], "per_page": 1}
    ).json["data"]
    assert [(row["id"], row["health"]) for row in second] == [(b.id, expected[b.id])]
    assert client.simulate_get(f"/api/v1/apps/{b.id}").json["data"]["health"] == [
        "failing",
        "low_output",
    ]
    assert client.simulate_get("/api/v1/apps", params={"health": "bad"}).status_code == 422


def test_anonymous_callers_are_refused(anonymous):
    assert anonymous.simulate_get("/api/v1/health/fleet").status_code == 401
