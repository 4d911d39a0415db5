"""Revocation under the cached principal, across two real ``dcctl serve`` replicas.

Each replica keeps a verified token's principal for ``DC_PRINCIPAL_CACHE_SECONDS``
(control/auth/principal_cache.py); docs/security.md promises that a revocation made
anywhere takes effect on every replica within that bound, and at once on the replica
that made it. Both replicas share one PostgreSQL database and one Redis (the
revocation list), as a production deployment does. The polls below wait the documented
bound plus a margin for a loaded machine: they check the guarantee, not a speed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from peewee import Database

from control.auth import users
from control.auth.models import User
from control.auth.passwords import hash_secret
from control.auth.roles import Role
from control.auth.sessions import SessionService
from control.auth.wiring import build_session_service
from control.settings import load_settings
from tests.live_server import LiveServer

pytestmark = [pytest.mark.services, pytest.mark.parametrize("db", ["postgresql"], indirect=True)]

REDIS_URL = "redis://127.0.0.1:6379/10"
BOUND = 2.0  # DC_PRINCIPAL_CACHE_SECONDS of both replicas
MARGIN = 8.0  # a loaded machine's delays on top of the bound
PASSWORD = "a long and correct password"
ME = "/api/v1/auth/me"


@pytest.fixture
def replicas(db: Database, postgresql_url: str, tmp_path: Path) -> Iterator[list[httpx.Client]]:
    """Two web processes on the test's PostgreSQL database and one Redis."""
    env = {
        "DC_REDIS_URL": REDIS_URL,
        "DC_PRINCIPAL_CACHE_SECONDS": str(BOUND),
        "DC_AUTH_RATE_LIMIT_PER_MINUTE": "10000",
        "DC_RATE_LIMIT_PER_MINUTE": "10000",
    }
    with (
        LiveServer(postgresql_url, log_dir=tmp_path, extra_env=env, name="one") as one,
        LiveServer(postgresql_url, log_dir=tmp_path, extra_env=env, name="two") as two,
    ):
        clients = [
            httpx.Client(base_url=server.url, trust_env=False, timeout=10) for server in (one, two)
        ]
        try:
            yield clients
        finally:
            for client in clients:
                client.close()


def make_user(role: Role) -> str:
    email = f"replica-{uuid.uuid4().hex[:8]}@example.com"
    User.create(email=email, password_hash=hash_secret(PASSWORD), role=role)
    return email


def login(client: httpx.Client, email: str) -> str:
    resp = client.post("/api/v1/auth/token", json={"username": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["data"]["access_token"])


def status(client: httpx.Client, token: str) -> int:
    return client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code


def refused_within_bound(clients: list[httpx.Client], token: str, since: float) -> list[float]:
    """Poll every replica until it answers 401 for ``token``, or the bound and margin
    since ``since`` pass; the seconds each took (the test fails if one never refuses)."""
    deadline = since + BOUND + MARGIN
    took: list[float] = []
    for client in clients:
        while (answer := status(client, token)) != 401 and time.monotonic() < deadline:
            assert answer == 200, answer
            time.sleep(0.05)
        assert answer == 401, f"{client.base_url} still accepts the token after the bound"
        took.append(time.monotonic() - since)
    return took


def test_logout_on_one_replica_reaches_both(replicas: list[httpx.Client]) -> None:
    one, two = replicas
    token = login(one, make_user(Role.OPERATOR))
    # both replicas verify the token and keep its principal
    assert [status(client, token) for client in replicas * 2] == [200, 200, 200, 200]

    resp = one.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 204
    revoked = time.monotonic()
    assert status(one, token) == 401  # the replica that revoked: at once
    refused_within_bound([two], token, revoked)


def sessions() -> SessionService:
    """The session service as ``dcctl`` builds it: revocations in the shared Redis."""
    return build_session_service(load_settings(redis_url=REDIS_URL))


def test_disabling_a_user_elsewhere_reaches_both_replicas(replicas: list[httpx.Client]) -> None:
    """A change made outside both web processes (as ``dcctl user disable`` makes it, here
    in the test's process on the shared database and Redis)."""
    one, two = replicas
    email = make_user(Role.OPERATOR)
    token = login(one, email)
    assert [status(client, token) for client in replicas * 2] == [200, 200, 200, 200]

    users.set_disabled(sessions(), email, True)
    refused_within_bound(replicas, token, time.monotonic())
    resp = two.post("/api/v1/auth/token", json={"username": email, "password": PASSWORD})
    assert resp.status_code == 401


def test_a_role_change_elsewhere_reaches_both_replicas(replicas: list[httpx.Client]) -> None:
    one, two = replicas
    email = make_user(Role.ADMIN)
    token = login(one, email)
    assert [status(client, token) for client in replicas * 2] == [200, 200, 200, 200]

    users.set_role(sessions(), email, Role.VIEWER)
    refused_within_bound(replicas, token, time.monotonic())
    new = login(two, email)  # a new session carries the new role
    assert two.get(ME, headers={"Authorization": f"Bearer {new}"}).json()["data"]["role"] == (
        "viewer"
    )
