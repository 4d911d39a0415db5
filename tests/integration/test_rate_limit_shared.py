"""Rate limits across real ``dcctl serve`` processes: shared through Redis, open without it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from control.auth.roles import Role
from control.auth.tokens import TokenService, new_id
from control.settings import load_settings
from tests.live_server import LIVE_SECRET, LiveServer, migrated_sqlite

pytestmark = pytest.mark.services

REDIS_URL = "redis://127.0.0.1:6379/14"
CLOSED_REDIS_URL = "redis://127.0.0.1:1/0"
HEALTH = "/api/v1/system/health"

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(url: str, *, headers: dict[str, str] | None = None, body: dict | None = None):
    """(status, headers, parsed body) of one request; HTTP errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _opener.open(request, timeout=10) as resp:
            return resp.status, resp.headers, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, json.loads(exc.read() or b"null")


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def test_two_processes_share_the_counters(tmp_path: Path, redis_db: redis.Redis) -> None:
    url = migrated_sqlite(tmp_path / "db.sqlite3")
    env = {"DC_REDIS_URL": REDIS_URL, "DC_RATE_LIMIT_PER_MINUTE": "6"}
    with (
        LiveServer(url, log_dir=tmp_path, extra_env=env, name="one") as one,
        LiveServer(url, log_dir=tmp_path, extra_env=env, name="two") as two,
    ):
        # The windows are fixed minutes (the window logic itself is tested on an injected
        # clock in tests/unit/kv): if a minute turned during the sequence, run it again in
        # the fresh window, instead of sleeping away from every edge beforehand.
        for _attempt in range(3):
            redis_db.flushdb()  # forget the start-up health checks (and a torn attempt)
            remaining, resets = [], set()
            for server in (one, one, one, two, two, two):
                status, headers, _ = call(server.url + HEALTH)
                assert status == 200
                assert headers["X-RateLimit-Limit"] == "6"
                remaining.append(int(headers["X-RateLimit-Remaining"]))
                resets.add(int(headers["X-RateLimit-Reset"]))
            if len(resets) > 1:
                continue  # torn by a turn: the new window has a minute ahead of it
            left = resets.pop() - time.time()
            if left > 5:
                break
            time.sleep(left + 0.2)  # too near the turn for the checks below: rare, short
        assert remaining == [5, 4, 3, 2, 1, 0]
        for server in (one, two):
            status, headers, body = call(server.url + HEALTH)
            assert status == 429
            assert body["error"]["code"] == "RATE_LIMITED"
            assert headers["X-RateLimit-Remaining"] == "0"
            assert 1 <= int(headers["Retry-After"]) <= 60
        assert redis_db.keys("dc:rl:ip:127.0.0.1:*")  # one counter, in Redis


def test_redis_down_fails_open_for_limits_and_closed_for_tokens(tmp_path: Path) -> None:
    url = migrated_sqlite(tmp_path / "db.sqlite3")
    env = {"DC_REDIS_URL": CLOSED_REDIS_URL, "DC_RATE_LIMIT_PER_MINUTE": "2"}
    with LiveServer(url, log_dir=tmp_path, extra_env=env) as server:  # start-up health: 200
        for _ in range(4):
            status, headers, body = call(server.url + HEALTH)
            assert status == 200
            assert body == {"data": {"status": "healthy"}}
            assert "X-RateLimit-Limit" not in headers

        # Authentication fails closed: the revocation list is in the unreachable Redis.
        settings = load_settings(jwt_secret=LIVE_SECRET, environment="test")
        token = (
            TokenService(settings)
            .issue(
                subject="someone@example.com",
                role=Role.ADMIN,
                subject_type="user",
                use="access",
                session_id=new_id(),
            )
            .token
        )
        status, headers, body = call(
            server.url + "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 503
        assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert "Retry-After" in headers

        # So does a login: its per-account throttle lives in the store as well.
        creds = {"username": "someone@example.com", "password": "whatever"}
        status, _, body = call(server.url + "/api/v1/auth/token", body=creds)
        assert status == 503
    # One warning for all those requests, not one per request.
    assert server.stderr_text().count("rate limiting suspended") == 1
