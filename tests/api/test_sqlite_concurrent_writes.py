"""Embedded SQLite under concurrent writes: every write endpoint waits its turn, no 503.

A deferred SQLite transaction that reads and then writes fails at once with "database
is locked" when another writer got in first (the API answered 503). Each write path
takes the write lock up front (``write_transaction()``); these tests fire concurrent
requests at each write endpoint through the ASGI app, whose handlers run in threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import falcon.testing
import pytest

from control.auth.roles import Role
from control.commands.services import Actor, issue_command
from control.enums import CommandFlag
from tests.api.conftest import PASSWORD
from tests.factories import make_app

API = "/api/v1"
N = 40

Request = tuple[str, str, dict[str, Any]]


@pytest.fixture
def db(sqlite_db):
    """SQLite only: PostgreSQL's row locks never answer 'database is locked'."""
    return sqlite_db


@pytest.fixture
def admin(make_user, token_for) -> tuple[Any, dict[str, str]]:
    user = make_user(Role.ADMIN)
    return user, {"Authorization": f"Bearer {token_for(user)}"}


def fire(app, requests: list[Request]) -> list[falcon.testing.Result]:
    async def run() -> list[falcon.testing.Result]:
        async with falcon.testing.ASGIConductor(app) as conductor:
            return await asyncio.gather(
                *(conductor.simulate_request(m, path, **kw) for m, path, kw in requests)
            )

    return asyncio.run(run())


def assert_no_lock_errors(results: list[falcon.testing.Result], ok: set[int]) -> None:
    statuses = sorted(r.status_code for r in results)
    assert 503 not in statuses, [r.text for r in results if r.status_code == 503][:1]
    assert set(statuses) <= ok, statuses


def _settings(headers: dict[str, str], n: int) -> Request:
    theme = "dark" if n % 2 else "light"
    return "PATCH", f"{API}/settings", {"headers": headers, "json": {"display": {"theme": theme}}}


def test_concurrent_settings_patches(app, admin):
    _, headers = admin
    results = fire(app, [_settings(headers, n) for n in range(N)])
    assert_no_lock_errors(results, {200})


def test_concurrent_app_patches_and_commands(app, admin):
    _, headers = admin
    target = make_app()
    fleet = [make_app() for _ in range(N)]
    patches = [
        (
            "PATCH",
            f"{API}/apps/{target.id}",
            {"headers": {**headers, "If-Match": "*"}, "json": {"settings": {"n": n}}},
        )
        for n in range(N)
    ]
    starts = [("POST", f"{API}/apps/{a.id}/start", {"headers": headers}) for a in fleet]
    results = fire(app, patches + starts)
    assert_no_lock_errors(results, {200, 202})


def test_concurrent_command_acks(app, admin):
    user, headers = admin
    actor = Actor(subject=user.email, kind="user", role="admin")
    ids = [issue_command(make_app().id, CommandFlag.START, actor).id for _ in range(N)]
    acks = [("POST", f"{API}/commands/{i}/ack", {"headers": headers}) for i in ids]
    assert_no_lock_errors(fire(app, acks), {200})


def test_concurrent_bulk_jobs(app, admin, tasks, monkeypatch):
    _, headers = admin
    monkeypatch.setattr(tasks, "send", lambda *args, **options: None)
    for _ in range(5):
        make_app(group="crowd")
    posts = [
        (
            "POST",
            f"{API}/bulk/start",
            {
                "headers": {**headers, "Idempotency-Key": f"k{n}"},
                "json": {"filter": {"group": "crowd"}},
            },
        )
        for n in range(N)
    ]
    assert_no_lock_errors(fire(app, posts), {202})


def _channel(n: int) -> dict[str, Any]:
    config = {"url": "https://hooks.example.com/dc", "secret": "s3cret-webhook-key-123456"}
    return {"name": f"hook-{n}", "type": "webhook", "config": config}


def test_concurrent_channel_writes(app, admin, client_as):
    _, headers = admin
    creates = [
        ("POST", f"{API}/notifications/channels", {"headers": headers, "json": _channel(n)})
        for n in range(N)
    ]
    created = fire(app, creates)
    assert_no_lock_errors(created, {201})
    ids = [r.json["data"]["id"] for r in created]
    patches = [
        (
            "PATCH",
            f"{API}/notifications/channels/{ids[0]}",
            {"headers": headers, "json": {"enabled": bool(n % 2)}},
        )
        for n in range(N)
    ]
    deletes = [
        ("DELETE", f"{API}/notifications/channels/{i}", {"headers": headers}) for i in ids[1:]
    ]
    assert_no_lock_errors(fire(app, patches + deletes), {200, 204})


def test_concurrent_api_key_writes(app, admin):
    _, headers = admin
    # few enough to stay under any per-user key cap
    creates = [
        ("POST", f"{API}/settings/api-keys", {"headers": headers, "json": {"name": f"k{n}"}})
        for n in range(10)
    ]
    created = fire(app, creates)
    assert_no_lock_errors(created, {201})
    ids = [r.json["data"]["id"] for r in created]
    deletes = [("DELETE", f"{API}/settings/api-keys/{i}", {"headers": headers}) for i in ids]
    assert_no_lock_errors(fire(app, deletes), {204})


def test_concurrent_logins_refreshes_and_logouts(app, admin, anonymous):
    user, _ = admin
    login: Callable[[], Request] = lambda: (  # noqa: E731
        "POST",
        f"{API}/auth/token",
        {"json": {"username": user.email, "password": PASSWORD}},
    )
    logins = fire(app, [login() for _ in range(N)])
    assert_no_lock_errors(logins, {200})
    tokens = [r.json["data"] for r in logins]
    refreshes = [
        ("POST", f"{API}/auth/refresh", {"json": {"refresh_token": t["refresh_token"]}})
        for t in tokens[: N // 2]
    ]
    logouts = [
        (
            "POST",
            f"{API}/auth/logout",
            {"headers": {"Authorization": f"Bearer {t['access_token']}"}},
        )
        for t in tokens[N // 2 :]
    ]
    assert_no_lock_errors(fire(app, refreshes + logouts), {200, 204})


def test_concurrent_runtime_config_changes(app, admin):
    _, headers = admin
    posts = [
        (
            "POST",
            f"{API}/system/config",
            {"headers": headers, "json": {"changes": {"rate_limit_per_minute": 1000 + n}}},
        )
        for n in range(N)
    ]
    assert_no_lock_errors(fire(app, posts), {200})
