"""Security headers on every kind of response, and CORS from an allowlist only."""

from __future__ import annotations

import falcon.asgi
import falcon.testing
import pytest

from control.auth.roles import Role
from control.kv.memory import MemoryStore
from control.settings import load_settings
from web.app import create_app
from web.permissions import READ, allow
from web.wiring import build_services

SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cache-control": "no-store",
}
ALLOWED = "https://ops.example.com"


class Boom:
    @allow(READ)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise RuntimeError("boom")


@pytest.fixture
def client(db, make_user, token_for):
    settings = load_settings(cors_origins=[ALLOWED], rate_limit_per_minute=3)
    services = build_services(settings, store=MemoryStore())
    app = create_app(settings, bind_database=False, services=services)
    app.add_route("/api/v1/test/boom", Boom())
    client = falcon.testing.TestClient(app)
    client.token = token_for(make_user(Role.OPERATOR))  # type: ignore[attr-defined]
    return client


def assert_security_headers(result: falcon.testing.Result) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert result.headers.get(name) == value, (name, result.status_code)
    assert result.headers["content-security-policy"].startswith("default-src 'self'")


def auth(client) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token}"}


def test_headers_on_200_401_404_429_500(client):
    ok = client.simulate_get("/api/v1/apps", headers=auth(client))
    assert ok.status_code == 200
    unauthorized = client.simulate_get("/api/v1/apps")
    assert unauthorized.status_code == 401
    missing = client.simulate_get("/api/v1/nope", headers=auth(client))
    assert missing.status_code == 404
    error = client.simulate_get("/api/v1/test/boom", headers=auth(client))
    assert error.status_code == 500
    for _ in range(5):
        limited = client.simulate_get("/api/v1/system/health")
    assert limited.status_code == 429
    for result in (ok, unauthorized, missing, limited, error):
        assert_security_headers(result)


def test_docs_page_has_its_own_policy_but_the_other_headers(client):
    r = client.simulate_get("/api/docs")
    assert r.status_code == 200
    assert "worker-src 'self' blob:" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_allowed_origin_gets_cors_headers(client):
    r = client.simulate_get("/api/v1/apps", headers={**auth(client), "Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "X-Request-ID" in r.headers["access-control-expose-headers"]
    assert "Origin" in r.headers["vary"]


def test_allowed_origin_preflight(client):
    r = client.simulate_options(
        "/api/v1/apps",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "Authorization" in r.headers["access-control-allow-headers"]


def test_foreign_origin_gets_no_grant_and_cannot_write(client):
    read = client.simulate_get(
        "/api/v1/apps", headers={**auth(client), "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in read.headers
    preflight = client.simulate_options(
        "/api/v1/apps",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    write = client.simulate_post(
        "/api/v1/auth/logout", headers={**auth(client), "Origin": "https://evil.example"}
    )
    assert write.status_code == 403
    assert write.json["error"]["code"] == "ORIGIN_NOT_ALLOWED"


def test_unknown_method_is_405_with_allow(client):
    r = client.simulate_request("PROPFIND", "/api/v1/apps", headers=auth(client))
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]


def test_method_of_another_route_of_the_same_resource_is_405(client):
    # the keys resource has on_delete_item: DELETE on the collection is still a 405
    r = client.simulate_delete("/api/v1/settings/api-keys", headers=auth(client))
    assert r.status_code == 405
    r = client.simulate_post("/api/v1/settings/api-keys/1", headers=auth(client), json={})
    assert r.status_code == 405
