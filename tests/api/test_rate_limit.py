"""Rate limits: per IP (general and auth endpoints), per credential, and their headers.

The apps here run with small limits on a MemoryStore whose clock stands still, so a test
never straddles a window boundary.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

import falcon.testing
import pytest

from control.auth.api_keys import create_key
from control.auth.models import User
from control.auth.roles import Role
from control.auth.tokens import new_id
from control.errors import Unavailable
from control.kv.interface import WindowCount
from control.kv.memory import MemoryStore
from control.settings import load_settings
from web.app import create_app
from web.middleware import rate_limit
from web.middleware.rate_limit import credential_bucket
from web.wiring import Services, build_services

HEALTH = "/api/v1/system/health"
LOGIN = "/api/v1/auth/token"
APPS = "/api/v1/apps"
LIMITS = {"rate_limit_per_minute": 5, "auth_rate_limit_per_minute": 10}
TOKEN_LIMIT = 7
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")

Build = Callable[..., tuple[falcon.testing.TestClient, Services]]


@pytest.fixture
def build(db) -> Build:
    """A test client for an app with small limits (overridable) on a frozen-clock store."""
    frozen = time.time()

    def make(**overrides) -> tuple[falcon.testing.TestClient, Services]:
        options = {**LIMITS, "token_rate_limit_per_minute": TOKEN_LIMIT, **overrides}
        settings = load_settings(environment="test", **options)
        services = build_services(settings, store=MemoryStore(clock=lambda: frozen))
        app = create_app(settings, bind_database=False, services=services)
        return falcon.testing.TestClient(app), services

    return make


def token(services: Services, user: User) -> str:
    return services.tokens.issue(
        subject=user.email, role=user.role, subject_type="user", use="access", session_id=new_id()
    ).token


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def login(client: falcon.testing.TestClient, n: int, **kwargs) -> falcon.testing.Result:
    # A different unknown user each time: the per-account throttle (5 failures) stays out.
    body = {"username": f"nobody-{n}@example.com", "password": "wrong"}
    return client.simulate_post(LOGIN, json=body, **kwargs)


def assert_rate_headers(result: falcon.testing.Result, limit: int, remaining: int) -> None:
    for name in RATE_HEADERS:
        assert name in result.headers, (name, result.status_code, dict(result.headers))
    assert int(result.headers["x-ratelimit-limit"]) == limit
    assert int(result.headers["x-ratelimit-remaining"]) == remaining
    reset = int(result.headers["x-ratelimit-reset"])
    assert reset % 60 == 0
    assert reset > time.time() - 60


def assert_limited(result: falcon.testing.Result, limit: int) -> None:
    assert result.status_code == 429, result.text
    assert_rate_headers(result, limit, 0)
    assert 1 <= int(result.headers["retry-after"]) <= 60
    error = result.json["error"]
    assert error["code"] == "RATE_LIMITED"
    assert error["message"] == "Too many requests; retry later."
    assert error["details"] == []


# -- auth endpoints ----------------------------------------------------------------------


def test_eleventh_login_from_one_ip_is_limited(build: Build) -> None:
    client, _ = build(rate_limit_per_minute=50)
    for n in range(10):
        result = login(client, n)
        assert result.status_code == 401, result.text
        assert_rate_headers(result, limit=10, remaining=9 - n)
    assert_limited(login(client, 10), limit=10)
    assert_limited(login(client, 11), limit=10)
    # The auth bucket is only for /auth/; the general one still has room.
    health = client.simulate_get(HEALTH)
    assert health.status_code == 200
    assert_rate_headers(health, limit=50, remaining=50 - 13)
    # Another address has its own auth bucket.
    assert login(client, 12, remote_addr="198.51.100.7").status_code == 401


def test_auth_requests_count_in_the_general_bucket_too(build: Build) -> None:
    client, _ = build()  # general 5, auth 10: the general one runs out first
    for n in range(5):
        assert_rate_headers(login(client, n), limit=5, remaining=4 - n)
    assert_limited(login(client, 5), limit=5)
    assert_limited(client.simulate_get(HEALTH), limit=5)


def test_doubled_slashes_do_not_escape_the_auth_bucket(build: Build) -> None:
    client, _ = build(rate_limit_per_minute=50, auth_rate_limit_per_minute=2)
    body = {"username": "nobody@example.com", "password": "wrong"}
    assert client.simulate_post(LOGIN, json=body).status_code == 401
    routed = client.simulate_post("/" + LOGIN, json=body)
    assert routed.status_code == 401  # Falcon routes //api/... like /api/...
    assert_rate_headers(routed, limit=2, remaining=0)
    assert_limited(client.simulate_post("/" + LOGIN, json=body), limit=2)


# -- client addresses --------------------------------------------------------------------


def test_spoofed_forwarded_for_does_not_earn_a_fresh_bucket(build: Build) -> None:
    client, _ = build()
    peer = "203.0.113.9"
    for n in range(5):
        headers = {"X-Forwarded-For": f"198.51.100.{n}"}
        result = client.simulate_get(HEALTH, remote_addr=peer, headers=headers)
        assert result.status_code == 200
    spoofed = {"X-Forwarded-For": "192.0.2.200"}
    assert_limited(client.simulate_get(HEALTH, remote_addr=peer, headers=spoofed), limit=5)
    assert client.simulate_get(HEALTH, remote_addr="203.0.113.10").status_code == 200


def test_forwarded_clients_of_a_trusted_proxy_get_their_own_buckets(build: Build) -> None:
    client, _ = build(trusted_proxies=["10.0.0.1"])
    first = {"X-Forwarded-For": "198.51.100.1"}
    for _ in range(5):
        assert client.simulate_get(HEALTH, remote_addr="10.0.0.1", headers=first).status_code == 200
    assert_limited(client.simulate_get(HEALTH, remote_addr="10.0.0.1", headers=first), limit=5)
    second = {"X-Forwarded-For": "198.51.100.2"}
    result = client.simulate_get(HEALTH, remote_addr="10.0.0.1", headers=second)
    assert result.status_code == 200
    assert_rate_headers(result, limit=5, remaining=4)
    # A hop the proxy appended after a client-supplied one: the proxy's view counts.
    chained = {"X-Forwarded-For": "192.0.2.1, 198.51.100.1"}
    assert_limited(client.simulate_get(HEALTH, remote_addr="10.0.0.1", headers=chained), limit=5)


# -- general and per-token limits --------------------------------------------------------


def test_anonymous_requests_are_limited_per_ip(build: Build) -> None:
    client, _ = build()
    for n in range(5):
        result = client.simulate_get(HEALTH)
        assert result.status_code == 200
        assert_rate_headers(result, limit=5, remaining=4 - n)
    assert_limited(client.simulate_get(HEALTH), limit=5)


def test_tokens_have_their_own_buckets(build: Build, make_user) -> None:
    client, services = build()
    first = bearer(token(services, make_user(Role.VIEWER)))
    second = bearer(token(services, make_user(Role.OPERATOR)))
    # The address spends its anonymous budget: tokens are not affected.
    for _ in range(6):
        client.simulate_get(HEALTH)
    assert client.simulate_get(HEALTH).status_code == 429
    for n in range(TOKEN_LIMIT):
        result = client.simulate_get(APPS, headers=first)
        assert result.status_code == 200, result.text
        assert_rate_headers(result, limit=TOKEN_LIMIT, remaining=TOKEN_LIMIT - 1 - n)
    assert_limited(client.simulate_get(APPS, headers=first), limit=TOKEN_LIMIT)
    result = client.simulate_get(APPS, headers=second)
    assert result.status_code == 200
    assert_rate_headers(result, limit=TOKEN_LIMIT, remaining=TOKEN_LIMIT - 1)
    # The same token from another address shares its bucket.
    elsewhere = client.simulate_get(APPS, headers=first, remote_addr="198.51.100.9")
    assert_limited(elsewhere, limit=TOKEN_LIMIT)


def test_api_keys_are_limited_per_key(build: Build, make_user) -> None:
    client, _ = build()
    key = create_key(make_user(Role.OPERATOR), "ci", None).key
    for _ in range(TOKEN_LIMIT):
        assert client.simulate_get(APPS, headers={"X-API-Key": key}).status_code == 200
    assert_limited(client.simulate_get(APPS, headers={"X-API-Key": key}), limit=TOKEN_LIMIT)
    assert client.simulate_get(HEALTH).status_code == 200  # the address is untouched


def test_a_users_tokens_and_keys_share_one_budget(build: Build, make_user) -> None:
    client, services = build()
    user = make_user(Role.OPERATOR)
    # Minting more credentials does not multiply the budget.
    credentials = [bearer(token(services, user)) for _ in range(3)]
    credentials += [{"X-API-Key": create_key(user, f"k{n}", None).key} for n in range(2)]
    for n in range(TOKEN_LIMIT):
        result = client.simulate_get(APPS, headers=credentials[n % len(credentials)])
        assert result.status_code == 200, result.text
        assert_rate_headers(result, limit=TOKEN_LIMIT, remaining=TOKEN_LIMIT - 1 - n)
    assert_limited(client.simulate_get(APPS, headers=bearer(token(services, user))), TOKEN_LIMIT)
    fresh_key = {"X-API-Key": create_key(user, "fresh", None).key}
    assert_limited(client.simulate_get(APPS, headers=fresh_key), TOKEN_LIMIT)
    # Someone else's budget is their own.
    other = client.simulate_get(APPS, headers=bearer(token(services, make_user(Role.VIEWER))))
    assert other.status_code == 200
    assert_rate_headers(other, limit=TOKEN_LIMIT, remaining=TOKEN_LIMIT - 1)


def test_a_service_clients_tokens_share_one_budget(build: Build, db) -> None:
    from control.auth import clients

    client, services = build()
    registered = clients.create_client(f"etl-{new_id()[:6]}", Role.SERVICE).client

    def service_token() -> dict[str, str]:
        issued = services.tokens.issue(
            subject=registered.client_id,
            role=Role.SERVICE,
            subject_type="service",
            use="access",
            session_id=new_id(),
        )
        return bearer(issued.token)

    for _ in range(TOKEN_LIMIT):
        assert client.simulate_get(APPS, headers=service_token()).status_code == 200
    assert_limited(client.simulate_get(APPS, headers=service_token()), limit=TOKEN_LIMIT)


def test_credential_buckets_are_derived_from_the_text_only() -> None:
    assert credential_bucket("bearer", "abc") == credential_bucket("bearer", "abc")
    assert credential_bucket("bearer", "abc").startswith("cred:")
    assert len(credential_bucket("bearer", "abc")) == len("cred:") + 32
    assert credential_bucket("bearer", "abc") != credential_bucket("bearer", "abd")
    key = "dck_abcdefghijkl_" + "A" * 43
    assert credential_bucket("api_key", key) == "key:abcdefghijkl"
    assert credential_bucket("api_key", "nonsense") == "key:malformed"
    assert credential_bucket("invalid", "") is None


def test_made_up_tokens_are_charged_to_the_ip(build: Build, make_user) -> None:
    client, services = build()
    valid = bearer(token(services, make_user(Role.VIEWER)))
    for _ in range(5):
        result = client.simulate_get(APPS, headers=bearer(secrets.token_urlsafe(24)))
        assert result.status_code == 401
        assert_rate_headers(result, limit=TOKEN_LIMIT, remaining=TOKEN_LIMIT - 1)
    assert_limited(client.simulate_get(APPS, headers=bearer(secrets.token_urlsafe(24))), limit=5)
    assert_limited(client.simulate_get(HEALTH), limit=5)
    # Until the window ends the address is refused whatever it presents.
    assert_limited(client.simulate_get(APPS, headers=valid), limit=5)
    assert client.simulate_get(APPS, headers=valid, remote_addr="198.51.100.3").status_code == 200


def test_made_up_tokens_on_public_routes_are_charged_to_the_ip(build: Build) -> None:
    client, _ = build()
    for _ in range(5):
        result = client.simulate_get(HEALTH, headers=bearer(secrets.token_urlsafe(24)))
        assert result.status_code == 200  # a public route ignores an invalid credential
    assert_limited(client.simulate_get(HEALTH, headers=bearer(secrets.token_urlsafe(24))), 5)
    assert_limited(client.simulate_get(HEALTH), limit=5)


def test_made_up_api_keys_are_charged_to_the_ip(build: Build) -> None:
    client, _ = build()
    for _ in range(5):
        key = f"dck_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
        assert client.simulate_get(APPS, headers={"X-API-Key": key}).status_code == 401
    key = f"dck_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
    assert_limited(client.simulate_get(APPS, headers={"X-API-Key": key}), limit=5)


def test_valid_tokens_do_not_charge_the_ip(build: Build, make_user) -> None:
    client, services = build()
    valid = bearer(token(services, make_user(Role.VIEWER)))
    for _ in range(TOKEN_LIMIT):
        assert client.simulate_get(HEALTH, headers=valid).status_code == 200
    result = client.simulate_get(HEALTH)
    assert result.status_code == 200
    assert_rate_headers(result, limit=5, remaining=4)


# -- headers on every answer -------------------------------------------------------------


def test_headers_on_every_status(build: Build) -> None:
    client, _ = build(rate_limit_per_minute=4)
    ok = client.simulate_get(HEALTH)
    assert ok.status_code == 200
    assert_rate_headers(ok, limit=4, remaining=3)
    unauthenticated = client.simulate_get(APPS)
    assert unauthenticated.status_code == 401
    assert_rate_headers(unauthenticated, limit=4, remaining=2)
    missing = client.simulate_get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert_rate_headers(missing, limit=4, remaining=1)
    not_allowed = client.simulate_delete(HEALTH)
    assert not_allowed.status_code == 405
    assert_rate_headers(not_allowed, limit=4, remaining=0)
    assert_limited(client.simulate_get(HEALTH), limit=4)
    # A credential has its own bucket, reported on its 404 as well.
    with_token = client.simulate_get("/api/v1/no-such-thing", headers=bearer("x"))
    assert with_token.status_code == 404
    assert_rate_headers(with_token, limit=TOKEN_LIMIT, remaining=TOKEN_LIMIT - 1)


def test_static_assets_are_not_limited(build: Build) -> None:
    client, _ = build(rate_limit_per_minute=1)
    for _ in range(3):
        result = client.simulate_get("/api/static/docs/swagger-init.js")
        assert result.status_code == 200
        assert "x-ratelimit-limit" not in result.headers
    assert_rate_headers(client.simulate_get(HEALTH), limit=1, remaining=0)
    # Only the real static prefix: the docs pages themselves are counted.
    assert_limited(client.simulate_get("/api/docs"), limit=1)


# -- store outages -----------------------------------------------------------------------


class DownStore(MemoryStore):
    """A store whose counters are unreachable (flags still answer, as for tokens)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def hit(self, key: str, window_seconds: int, amount: int = 1) -> WindowCount:
        self.calls += 1
        raise Unavailable("Redis is unreachable.")

    def peek(self, key: str, window_seconds: int) -> WindowCount:
        self.calls += 1
        raise Unavailable("Redis is unreachable.")


def test_store_outage_fails_open_and_warns_once(db, caplog, monkeypatch) -> None:
    monkeypatch.setattr(rate_limit, "OUTAGE_BACKOFF", 3600.0)  # however slow the requests
    settings = load_settings(environment="test", rate_limit_per_minute=1)
    store = DownStore()
    app = create_app(settings, bind_database=False, services=build_services(settings, store))
    client = falcon.testing.TestClient(app)
    with caplog.at_level(logging.WARNING, logger="web.middleware.rate_limit"):
        for _ in range(5):
            result = client.simulate_get(HEALTH)
            assert result.status_code == 200
            assert "x-ratelimit-limit" not in result.headers
    warnings = [r for r in caplog.records if r.name == "web.middleware.rate_limit"]
    assert len(warnings) == 1
    assert "unavailable" in warnings[0].getMessage()
    assert store.calls == 1  # left alone for a while after it failed


# -- where the store is called -----------------------------------------------------------


class NetworkStore(MemoryStore):
    """Counts like the in-process store but says its calls may wait (as Redis's do)."""

    blocking = True


@pytest.mark.parametrize("store_class", [MemoryStore, NetworkStore])
def test_only_a_store_that_may_wait_is_called_off_the_event_loop(
    db, make_user, monkeypatch, store_class: type[MemoryStore]
) -> None:
    """The in-process store is counted on the event loop (a thread hand-off costs more
    than the count); Redis in a worker thread, so a slow Redis never stalls the loop.
    Either way the request is counted in its credential's and its owner's buckets."""
    handed_off: list[str] = []
    original = rate_limit.asyncio.to_thread

    async def recording(fn, /, *args, **kwargs):
        handed_off.append(getattr(fn, "__name__", repr(fn)))
        return await original(fn, *args, **kwargs)

    monkeypatch.setattr(rate_limit.asyncio, "to_thread", recording)
    settings = load_settings(environment="test", token_rate_limit_per_minute=TOKEN_LIMIT)
    services = build_services(settings, store=store_class())
    client = falcon.testing.TestClient(create_app(settings, bind_database=False, services=services))
    credential = token(services, make_user(Role.VIEWER))
    for sent in (1, 2):
        handed_off.clear()
        result = client.simulate_get(APPS, headers=bearer(credential))
        assert result.status_code == 200
        assert_rate_headers(result, limit=TOKEN_LIMIT, remaining=TOKEN_LIMIT - sent)
        counted = {"_count", "hit"} <= set(handed_off)
        assert counted is store_class.blocking, handed_off
