"""Login, refresh rotation, client credentials, logout and session revocation."""

from __future__ import annotations

import asyncio

import falcon.testing
import pytest

from control.auth import clients, users
from control.auth.roles import Role
from control.kv.redis_store import RedisStore
from control.settings import load_settings
from tests.api.conftest import PASSWORD
from web.app import create_app
from web.wiring import build_services


@pytest.fixture
def operator(make_user):
    return make_user(Role.OPERATOR, email="ops@example.com")


def login(client: falcon.testing.TestClient, email: str, password: str, **kwargs):
    return client.simulate_post(
        "/api/v1/auth/token", json={"username": email, "password": password}, **kwargs
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_returns_a_token_pair_that_works(anonymous, operator):
    r = login(anonymous, "ops@example.com", PASSWORD)
    assert r.status_code == 200
    data = r.json["data"]
    assert data["token_type"] == "bearer"
    assert data["role"] == "operator"
    assert data["expires_in"] == 30 * 60
    me = anonymous.simulate_get("/api/v1/auth/me", headers=bearer(data["access_token"]))
    assert me.json["data"]["subject"] == "ops@example.com"
    assert me.json["data"]["kind"] == "user"
    assert me.json["data"]["role"] == "operator"


def test_login_with_the_oauth2_form(anonymous, operator):
    form_password = PASSWORD.replace(" ", "+")
    r = anonymous.simulate_post(
        "/api/v1/auth/token",
        body=f"grant_type=password&username=ops%40example.com&password={form_password}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    assert r.json["data"]["refresh_token"]


def test_email_is_case_insensitive(anonymous, operator):
    assert login(anonymous, " OPS@Example.com ", PASSWORD).status_code == 200


def test_unknown_user_and_wrong_password_get_the_same_answer(anonymous, operator):
    wrong = login(anonymous, "ops@example.com", "not the password")
    unknown = login(anonymous, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json["error"].items() if k != "request_id"}  # noqa: E731
    assert strip(wrong) == strip(unknown)


def test_five_failures_from_one_address_throttle_that_address(anonymous, operator):
    for _ in range(5):
        r = login(anonymous, "ops@example.com", "wrong", remote_addr="10.0.0.1")
        assert r.status_code == 401
    r = login(anonymous, "ops@example.com", PASSWORD, remote_addr="10.0.0.1")
    assert r.status_code == 429
    assert r.json["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    # the owner at another address is not locked out
    assert login(anonymous, "ops@example.com", PASSWORD, remote_addr="10.0.0.2").status_code == 200
    # unknown accounts are throttled exactly the same way
    for _ in range(5):
        login(anonymous, "ghost@example.com", "wrong", remote_addr="10.0.0.3")
    assert login(anonymous, "ghost@example.com", "wrong", remote_addr="10.0.0.3").status_code == 429


def test_a_flood_from_many_addresses_does_not_lock_the_owner_out(anonymous, operator):
    # 40 addresses, two wrong passwords each: the account is under attack
    for n in range(80):
        login(anonymous, "ops@example.com", "wrong", remote_addr=f"10.1.{n % 40}.1")
    r = login(anonymous, "ops@example.com", PASSWORD, remote_addr="192.0.2.7")
    assert r.status_code == 200, r.text
    assert r.json["data"]["access_token"]
    # ...while an address that took part is refused from then on, even the right password
    assert login(anonymous, "ops@example.com", PASSWORD, remote_addr="10.1.3.1").status_code == 429


def test_disabled_user_cannot_log_in(anonymous, make_user):
    make_user(Role.ADMIN, email="gone@example.com", disabled=True)
    assert login(anonymous, "gone@example.com", PASSWORD).status_code == 401


def test_refresh_rotates_and_each_token_works_once(anonymous, operator):
    first = login(anonymous, "ops@example.com", PASSWORD).json["data"]
    r = anonymous.simulate_post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert r.status_code == 200
    second = r.json["data"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    me = anonymous.simulate_get("/api/v1/auth/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200


def test_reuse_of_a_used_refresh_token_revokes_the_whole_family(anonymous, operator):
    first = login(anonymous, "ops@example.com", PASSWORD).json["data"]
    second = anonymous.simulate_post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    ).json["data"]
    replay = anonymous.simulate_post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    # the thief's replay killed the legitimate chain too: refresh and access tokens
    r = anonymous.simulate_post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert r.status_code == 401
    for token in (first["access_token"], second["access_token"]):
        assert anonymous.simulate_get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    # ... and the reuse is in the audit log
    from control.audit.models import AuditLog

    assert AuditLog.select().where(AuditLog.action == "auth.refresh_reuse").count() == 1


def test_twenty_concurrent_refreshes_have_exactly_one_winner(app, anonymous, operator):
    refresh_token = login(anonymous, "ops@example.com", PASSWORD).json["data"]["refresh_token"]

    async def race() -> list[int]:
        # one event loop, twenty requests in flight; each runs its database work in its
        # own worker thread, so the UPDATEs really race
        async with falcon.testing.ASGIConductor(app) as conductor:
            results = await asyncio.gather(
                *(
                    conductor.simulate_post(
                        "/api/v1/auth/refresh", json={"refresh_token": refresh_token}
                    )
                    for _ in range(20)
                )
            )
        return [r.status_code for r in results]

    statuses = asyncio.run(race())
    assert statuses.count(200) == 1, statuses
    assert statuses.count(401) == 19


def test_logout_revokes_the_access_token_and_its_refresh_token(anonymous, operator):
    pair = login(anonymous, "ops@example.com", PASSWORD).json["data"]
    r = anonymous.simulate_post("/api/v1/auth/logout", headers=bearer(pair["access_token"]))
    assert r.status_code == 204
    me = anonymous.simulate_get("/api/v1/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 401
    again = anonymous.simulate_post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert again.status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        lambda s: users.set_disabled(s, "ops@example.com", True),
        lambda s: users.set_role(s, "ops@example.com", Role.VIEWER),
        lambda s: users.set_password(s, "ops@example.com", "a brand new passphrase"),
    ],
    ids=["disable", "role", "password"],
)
def test_account_changes_end_every_session(anonymous, operator, services, change):
    sessions = [login(anonymous, "ops@example.com", PASSWORD).json["data"] for _ in range(2)]
    change(services.sessions)
    for pair in sessions:
        me = anonymous.simulate_get("/api/v1/auth/me", headers=bearer(pair["access_token"]))
        assert me.status_code == 401
        r = anonymous.simulate_post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert r.status_code == 401


def test_service_client_credentials(anonymous, db):
    created = clients.create_client("copilot", Role.SERVICE)
    r = anonymous.simulate_post(
        "/api/v1/auth/service",
        json={"client_id": created.client.client_id, "client_secret": created.secret},
    )
    assert r.status_code == 200
    data = r.json["data"]
    assert "refresh_token" not in data
    assert data["role"] == "service"
    me = anonymous.simulate_get("/api/v1/auth/me", headers=bearer(data["access_token"]))
    assert me.json["data"]["kind"] == "service"
    form = anonymous.simulate_post(
        "/api/v1/auth/service",
        body=f"grant_type=client_credentials&client_id={created.client.client_id}"
        f"&client_secret={created.secret}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 200
    wrong = anonymous.simulate_post(
        "/api/v1/auth/service",
        json={"client_id": created.client.client_id, "client_secret": "x" * 20},
    )
    assert wrong.status_code == 401
    clients.set_disabled("copilot", True)
    me = anonymous.simulate_get("/api/v1/auth/me", headers=bearer(data["access_token"]))
    assert me.status_code == 401


def test_rotated_client_secret_keeps_the_old_one_during_grace(anonymous, db):
    created = clients.create_client("etl-bot", Role.SERVICE)
    rotated = clients.rotate_secret("etl-bot")
    for secret in (created.secret, rotated.secret):
        r = anonymous.simulate_post(
            "/api/v1/auth/service",
            json={"client_id": created.client.client_id, "client_secret": secret},
        )
        assert r.status_code == 200


def test_unreachable_revocation_store_fails_closed(db, make_user, token_for):
    settings = load_settings(redis_url="redis://127.0.0.1:1/0")
    services = build_services(settings, store=RedisStore(settings.redis_url, timeout=0.2))
    client = falcon.testing.TestClient(create_app(settings, bind_database=False, services=services))
    token = token_for(make_user(Role.ADMIN))
    r = client.simulate_get("/api/v1/apps", headers=bearer(token))
    assert r.status_code == 503
    assert r.json["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert r.headers["retry-after"]
