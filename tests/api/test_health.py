"""Health: status only for anyone, details for authenticated callers."""

from __future__ import annotations

from control.auth.roles import Role


def test_anonymous_gets_only_the_status(anonymous, db):
    r = anonymous.simulate_get("/api/v1/system/health")
    assert r.status_code == 200
    assert r.json == {"data": {"status": "healthy"}}


def test_anonymous_detailed_is_refused(anonymous, db):
    r = anonymous.simulate_get("/api/v1/system/health", params={"detailed": "true"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_authenticated_caller_gets_component_details(client_as, db):
    r = client_as(Role.VIEWER).simulate_get("/api/v1/system/health", params={"detailed": "true"})
    assert r.status_code == 200
    data = r.json["data"]
    assert data["status"] == "healthy"
    assert data["version"]
    assert data["uptime_seconds"] >= 0
    assert data["checks"]["database"]["status"] == "up"
    assert data["checks"]["database"]["latency_ms"] >= 0
    assert 0 <= data["checks"]["disk_usage_pct"] <= 100
    assert data["checks"]["redis"] == {"status": "in-process"}
