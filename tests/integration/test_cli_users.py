"""``dcctl user`` and ``dcctl client`` against a running server sharing their database.

The commands run as real processes; their effect is checked through the API: logins,
``/auth/me`` with tokens issued before the change, and client credentials. The server
keeps a verified token's principal ``DC_PRINCIPAL_CACHE_SECONDS``: a change the command
line makes reaches a token the server saw a moment ago within that bound
(docs/security.md), so those checks wait the bound and a margin.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator

import httpx
import pytest

from tests.live_server import DCCTL, LiveServer, migrated_sqlite, run_dcctl, server_env
from tests.waiting import wait_until

API = "/api/v1"
PRINCIPAL_CACHE_SECONDS = 1.0  # the server's DC_PRINCIPAL_CACHE_SECONDS
MARGIN = 8.0  # a loaded machine's delays on top of it


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("cli_users")
    url = migrated_sqlite(workdir / "users.sqlite3")
    # Many logins from one address: keep a per-IP auth limit out of the way.
    extra = {
        "DC_AUTH_RATE_LIMIT_PER_MINUTE": "10000",
        "DC_RATE_LIMIT_PER_MINUTE": "10000",
        "DC_PRINCIPAL_CACHE_SECONDS": str(PRINCIPAL_CACHE_SECONDS),
    }
    with LiveServer(url, log_dir=workdir, extra_env=extra) as live:
        yield live


@pytest.fixture(scope="module")
def env(server: LiveServer) -> dict[str, str]:
    return server_env(server.env["DC_DATABASE_URL"])


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        yield client


def dcctl(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``dcctl *args`` with ``stdin`` as its input (run_dcctl takes none)."""
    if stdin is None:
        return run_dcctl(*args, env=env)
    return subprocess.run(
        [str(DCCTL), *args],
        input=stdin,
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {result.stderr!r}"
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0]


def create_user(env: dict[str, str], email: str, password: str, role: str = "viewer") -> str:
    return ok(
        dcctl(
            env, "user", "create", "--email", email, "--role", role, "--password-stdin",
            stdin=password + "\n",
        )
    )  # fmt: skip


def login(http: httpx.Client, email: str, password: str) -> httpx.Response:
    return http.post(f"{API}/auth/token", json={"username": email, "password": password})


def tokens(http: httpx.Client, email: str, password: str) -> dict:
    resp = login(http, email, password)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def me(http: httpx.Client, access_token: str) -> httpx.Response:
    return http.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {access_token}"})


def refused_within_bound(http: httpx.Client, access_token: str) -> bool:
    """Whether the server answers 401 for a token it verified before, within the bound."""
    return wait_until(
        lambda: me(http, access_token).status_code == 401,
        timeout=PRINCIPAL_CACHE_SECONDS + MARGIN,
        interval=0.05,
    )


# -- users --------------------------------------------------------------------------------


def test_created_user_logs_in(env: dict[str, str], http: httpx.Client) -> None:
    out = create_user(env, "Alice@Example.com", "alice password", role="operator")
    assert "created user alice@example.com" in out

    data = tokens(http, "alice@example.com", "alice password")
    assert data["access_token"]
    assert data["refresh_token"]
    assert data["role"] == "operator"
    profile = me(http, data["access_token"])
    assert profile.status_code == 200
    assert profile.json()["data"]["subject"] == "alice@example.com"


def test_password_from_stdin_keeps_everything_but_the_newline(
    env: dict[str, str], http: httpx.Client
) -> None:
    create_user(env, "spaces@example.com", "  spaced out  ")
    assert login(http, "spaces@example.com", "  spaced out  ").status_code == 200
    assert login(http, "spaces@example.com", "spaced out").status_code == 401


def test_existing_email_fails_in_one_line_unless_if_missing(env: dict[str, str]) -> None:
    create_user(env, "bob@example.com", "bob password")

    again = dcctl(
        env, "user", "create", "--email", "BOB@example.com", "--role", "admin",
        "--password-stdin", stdin="other password\n",
    )  # fmt: skip
    assert "already exists" in one_error_line(again)

    idempotent = dcctl(
        env, "user", "create", "--email", "bob@example.com", "--role", "admin",
        "--password-stdin", "--if-missing", stdin="other password\n",
    )  # fmt: skip
    assert "already exists" in ok(idempotent)
    listed = [line.split() for line in ok(dcctl(env, "user", "list")).splitlines()]
    assert ["bob@example.com", "viewer", "no"] in [row[:3] for row in listed]


def test_short_password_is_refused(env: dict[str, str]) -> None:
    result = dcctl(
        env, "user", "create", "--email", "short@example.com", "--role", "viewer",
        "--password-stdin", stdin="1234567\n",
    )  # fmt: skip
    assert "8 to 1024 characters" in one_error_line(result)
    assert "short@example.com" not in ok(dcctl(env, "user", "list"))


def test_unknown_user_and_bad_email_fail_in_one_line(env: dict[str, str]) -> None:
    assert "nobody@example.com" in one_error_line(
        dcctl(env, "user", "disable", "--email", "nobody@example.com")
    )
    assert "email" in one_error_line(dcctl(env, "user", "enable", "--email", "not-an-email"))


def test_disable_ends_sessions_and_logins(env: dict[str, str], http: httpx.Client) -> None:
    create_user(env, "carol@example.com", "carol password")
    data = tokens(http, "carol@example.com", "carol password")
    assert me(http, data["access_token"]).status_code == 200

    out = ok(dcctl(env, "user", "disable", "--email", "carol@example.com"))
    assert "1 session revoked" in out
    assert refused_within_bound(http, data["access_token"])
    assert login(http, "carol@example.com", "carol password").status_code == 401
    refresh = http.post(f"{API}/auth/refresh", json={"refresh_token": data["refresh_token"]})
    assert refresh.status_code == 401

    ok(dcctl(env, "user", "enable", "--email", "carol@example.com"))
    assert login(http, "carol@example.com", "carol password").status_code == 200


def test_set_role_ends_sessions(env: dict[str, str], http: httpx.Client) -> None:
    create_user(env, "dave@example.com", "dave password")
    old = tokens(http, "dave@example.com", "dave password")
    assert me(http, old["access_token"]).json()["data"]["role"] == "viewer"

    out = ok(dcctl(env, "user", "set-role", "--email", "dave@example.com", "--role", "admin"))
    assert "viewer -> admin" in out
    assert "1 session revoked" in out
    assert refused_within_bound(http, old["access_token"])

    new = tokens(http, "dave@example.com", "dave password")
    assert me(http, new["access_token"]).json()["data"]["role"] == "admin"


def test_role_must_be_a_known_one(env: dict[str, str]) -> None:
    result = dcctl(env, "user", "set-role", "--email", "dave@example.com", "--role", "root")
    assert result.returncode == 2
    assert "root" in result.stderr


def test_reset_password_ends_sessions(env: dict[str, str], http: httpx.Client) -> None:
    create_user(env, "erin@example.com", "erin password")
    first = tokens(http, "erin@example.com", "erin password")
    second = tokens(http, "erin@example.com", "erin password")

    out = ok(
        dcctl(
            env, "user", "reset-password", "--email", "erin@example.com", "--password-stdin",
            stdin="erin new password\n",
        )
    )  # fmt: skip
    assert "2 sessions revoked" in out
    for old in (first, second):
        assert me(http, old["access_token"]).status_code == 401
        refresh = http.post(f"{API}/auth/refresh", json={"refresh_token": old["refresh_token"]})
        assert refresh.status_code == 401
    assert login(http, "erin@example.com", "erin password").status_code == 401
    new = tokens(http, "erin@example.com", "erin new password")
    assert me(http, new["access_token"]).status_code == 200


def test_reset_password_applies_the_policy(env: dict[str, str], http: httpx.Client) -> None:
    create_user(env, "frank@example.com", "frank password")
    result = dcctl(
        env, "user", "reset-password", "--email", "frank@example.com", "--password-stdin",
        stdin="short\n",
    )  # fmt: skip
    assert "8 to 1024 characters" in one_error_line(result)
    assert login(http, "frank@example.com", "frank password").status_code == 200


# -- service clients ----------------------------------------------------------------------


def _field(output: str, name: str) -> str:
    match = re.search(rf"^{name}:\s+(\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def service_token(http: httpx.Client, client_id: str, secret: str) -> httpx.Response:
    return http.post(f"{API}/auth/service", json={"client_id": client_id, "client_secret": secret})


def test_client_lifecycle(env: dict[str, str], http: httpx.Client) -> None:
    out = ok(dcctl(env, "client", "create", "--name", "ingest", "--role", "operator"))
    assert "cannot be shown again" in out
    client_id, secret = _field(out, "client_id"), _field(out, "client_secret")

    resp = service_token(http, client_id, secret)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["role"] == "operator"
    assert "refresh_token" not in data
    profile = me(http, data["access_token"]).json()["data"]
    assert profile == {"subject": client_id, "kind": "service", "role": "operator"}

    rotated = ok(dcctl(env, "client", "rotate", "--name", "ingest", "--grace-hours", "1"))
    assert "cannot be shown again" in rotated
    assert "previous secret keeps working until" in rotated
    new_secret = _field(rotated, "client_secret")
    assert new_secret != secret
    assert service_token(http, client_id, secret).status_code == 200
    assert service_token(http, client_id, new_secret).status_code == 200

    token = service_token(http, client_id, new_secret).json()["data"]["access_token"]
    ok(dcctl(env, "client", "disable", "--name", "ingest"))
    assert me(http, token).status_code == 401
    assert service_token(http, client_id, new_secret).status_code == 401

    ok(dcctl(env, "client", "enable", "--name", client_id))  # the id works as well as the name
    assert service_token(http, client_id, new_secret).status_code == 200


def test_rotation_without_grace_ends_the_old_secret(
    env: dict[str, str], http: httpx.Client
) -> None:
    out = ok(dcctl(env, "client", "create", "--name", "cron"))
    client_id, secret = _field(out, "client_id"), _field(out, "client_secret")
    rotated = ok(dcctl(env, "client", "rotate", "--name", "cron", "--grace-hours", "0"))
    assert "previous secret no longer works" in rotated
    assert service_token(http, client_id, secret).status_code == 401
    assert service_token(http, client_id, _field(rotated, "client_secret")).status_code == 200


def test_client_errors_are_one_line(env: dict[str, str]) -> None:
    ok(dcctl(env, "client", "create", "--name", "dup"))
    assert "exists" in one_error_line(dcctl(env, "client", "create", "--name", "dup"))
    assert "nope" in one_error_line(dcctl(env, "client", "rotate", "--name", "nope"))
    assert one_error_line(dcctl(env, "client", "create", "--name", "bad/name"))
    result = dcctl(env, "client", "create", "--name", "boss", "--role", "admin")
    assert result.returncode == 2  # not a client role


# -- listings -----------------------------------------------------------------------------


def test_listings_never_show_hashes_or_secrets(env: dict[str, str]) -> None:
    create_user(env, "gina@example.com", "gina secret password")
    made = ok(dcctl(env, "client", "create", "--name", "listed"))
    secret = _field(made, "client_secret")
    rotated = _field(ok(dcctl(env, "client", "rotate", "--name", "listed")), "client_secret")

    users = ok(dcctl(env, "user", "list"))
    assert users.splitlines()[0].split() == [
        "EMAIL",
        "ROLE",
        "DISABLED",
        "CREATED",
        "LAST",
        "LOGIN",
    ]
    assert "gina@example.com" in users
    clients = ok(dcctl(env, "client", "list"))
    assert "listed" in clients
    assert _field(made, "client_id") in clients
    for text in (users, clients):
        assert "$argon2" not in text
        assert "gina secret password" not in text
        assert secret not in text
        assert rotated not in text
