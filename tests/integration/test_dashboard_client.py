"""The dashboard's API client against the real API (``dcctl serve``), no mocks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from control.auth.roles import Role
from dashboard import api_status
from dashboard.api_client import (
    ApiClient,
    ApiError,
    ApiUnavailable,
    NotSignedIn,
    Tokens,
    password_login,
)
from dashboard.charts import period_start
from tests.live_dashboard import PASSWORD, DashboardStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardStack]:
    root = tmp_path_factory.mktemp("dashboard-client")
    with DashboardStack(root) as live:
        live.add_user("operator@example.com", Role.OPERATOR)
        live.add_user("viewer@example.com", Role.VIEWER)
        ids = live.add_apps(
            [{"id": f"client_app_{n}", "group": "de" if n < 3 else "fr"} for n in range(5)]
        )
        live.add_log(ids[0], "first line")
        yield live


OPENED: list[ApiClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Each client keeps a pooled connection for its session: close them after a test."""
    yield
    while OPENED:
        OPENED.pop().close()


def login(stack: DashboardStack, email: str = "operator@example.com") -> ApiClient:
    client = ApiClient(stack.api.url, password_login(stack.api.url, email, PASSWORD), email)
    OPENED.append(client)
    return client


def test_password_login_returns_the_pair_and_role(stack: DashboardStack) -> None:
    tokens = password_login(stack.api.url, "viewer@example.com", PASSWORD)
    assert tokens.role == "viewer"
    assert tokens.refresh_token
    assert tokens.fresh()


def test_wrong_password_is_an_api_error(stack: DashboardStack) -> None:
    with pytest.raises(ApiError) as caught:
        password_login(stack.api.url, "viewer@example.com", "not the password")
    assert caught.value.status == 401


def test_lists_filters_and_reads(stack: DashboardStack) -> None:
    client = login(stack)
    assert client.me()["role"] == "operator"
    apps = client.apps_page()["data"]
    assert [a["id"] for a in apps] == [f"client_app_{n}" for n in range(5)]
    assert [(g["group"], g["apps"]) for g in client.groups()] == [("de", 3), ("fr", 2)]
    assert client.app("client_app_0")["group"] == "de"
    assert [e["message"] for e in client.logs("client_app_0")] == ["first line"]
    assert client.runtimes("client_app_0") == []
    assert client.function_history("client_app_0") == []
    assert client.throughput()["pipelines"] == []
    assert client.app_performance("client_app_0")["bucket"] == "day"
    since = period_start("last_7d")
    assert client.function_trends(since, bucket="hour") == []
    assert client.recent_runtimes(since) == []
    with pytest.raises(ApiError) as caught:
        client.app("no_such_app")
    assert caught.value.status == 404


def test_one_page_sorted_with_the_total(stack: DashboardStack) -> None:
    client = login(stack)
    body = client.apps_page(page=2, per_page=2, sort="-id")
    assert [a["id"] for a in body["data"]] == ["client_app_2", "client_app_1"]
    assert body["meta"]["total"] == 5
    assert body["meta"]["total_pages"] == 3
    body = client.apps_page(page=1, per_page=100, sort="id", group="fr")
    assert [a["id"] for a in body["data"]] == ["client_app_3", "client_app_4"]
    assert body["meta"]["total"] == 2
    with pytest.raises(ApiError) as caught:
        client.apps_page(sort="progress")  # not a column the API sorts by
    assert caught.value.status in {400, 422}


def test_bulk_command_creates_a_job(stack: DashboardStack) -> None:
    client = login(stack)
    job = client.bulk_command(["client_app_3", "client_app_4"], "DISABLE")
    assert job["command"] == "DISABLE"
    deadline = time.monotonic() + 15
    while client.bulk_job(job["id"])["status"] not in {"completed", "failed"}:
        assert time.monotonic() < deadline, "bulk job did not finish"
        time.sleep(0.2)
    assert client.bulk_job(job["id"])["status"] == "completed"
    disabled = client.apps_page(disabled="true")["data"]
    assert {a["id"] for a in disabled} == {"client_app_3", "client_app_4"}
    client.bulk_command(["client_app_3", "client_app_4"], "ENABLE")


def test_viewer_may_not_command(stack: DashboardStack) -> None:
    client = login(stack, "viewer@example.com")
    with pytest.raises(ApiError) as caught:
        client.bulk_command(["client_app_0"], "START")
    assert caught.value.status == 403


def test_expiring_token_is_refreshed_once_and_reported(stack: DashboardStack) -> None:
    client = login(stack)
    seen: list[Tokens] = []
    client.auth.on_tokens = seen.append
    old = client.tokens
    client.auth.tokens = Tokens(old.access_token, old.refresh_token, time.time(), old.role)
    # Many threads at once: one refresh (a second use of the refresh token would end the
    # session), every call succeeds.
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.me()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(seen) == 1
    assert client.tokens.access_token != old.access_token
    assert client.tokens.refresh_token != old.refresh_token


def test_revoked_access_token_is_refreshed_on_401(stack: DashboardStack) -> None:
    client = login(stack)
    old = client.tokens
    client.auth.tokens = Tokens("not-a-token", old.refresh_token, old.expires_at, old.role)
    assert client.me()["subject"] == "operator@example.com"


def test_logout_ends_the_session(stack: DashboardStack) -> None:
    client = login(stack)
    client.logout()
    with pytest.raises(NotSignedIn):
        client.me()  # the access token is revoked and so is the refresh family


def test_no_proxy_from_the_environment(
    stack: DashboardStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert login(stack).me()["role"] == "operator"


def test_unreachable_api_is_api_unavailable_and_recorded(stack: DashboardStack) -> None:
    """Issue 13: an API that cannot be reached is ApiUnavailable (translated once, in the
    client), the outage is recorded with its start, and the next answered call ends it."""
    client = login(stack)
    api_status.mark_up()
    cut = ApiClient("http://127.0.0.1:9", client.tokens, "operator@example.com")
    OPENED.append(cut)
    with pytest.raises(ApiUnavailable) as raised:
        cut.me()
    assert raised.value.message == "The API is unreachable."
    assert "127.0.0.1" not in str(raised.value)  # no address in what the page shows
    outage = api_status.outage()
    assert outage is not None
    with pytest.raises(ApiUnavailable):
        cut.groups()
    assert api_status.outage() == outage  # the first failure's time is kept
    assert client.me()["role"] == "operator"
    assert api_status.outage() is None


def test_unreachable_api_is_an_api_error_without_status(tmp_path: Path) -> None:
    with pytest.raises(ApiError) as caught:
        password_login("http://127.0.0.1:9", "a@example.com", "x")
    assert caught.value.status is None


def test_serve_with_dashboard_starts_and_stops_both(tmp_path: Path) -> None:
    """`make demo`'s command: the dashboard is a child of `dcctl serve`; SIGTERM ends both."""
    import signal
    import subprocess

    from tests.live_server import DCCTL, free_port, migrated_sqlite, server_env

    api_port, dash_port = free_port(), free_port()
    env = server_env(
        migrated_sqlite(tmp_path / "db.sqlite3"),
        DC_API_PORT=str(api_port),
        DC_DASHBOARD_PORT=str(dash_port),
        DC_DASHBOARD_API_URL=f"http://127.0.0.1:{api_port}",
    )
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [str(DCCTL), "serve", "--with-dashboard"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with httpx.Client(trust_env=False) as http:
                    if http.get(f"http://127.0.0.1:{dash_port}/dashboard/login").status_code == 200:
                        break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=20) == 0
        with pytest.raises(httpx.HTTPError), httpx.Client(trust_env=False) as http:
            http.get(f"http://127.0.0.1:{dash_port}/dashboard/login", timeout=2)
        assert "dashboard stopped" in (tmp_path / "serve.log").read_text()
    finally:
        import contextlib
        import os

        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, signal.SIGKILL)
        log.close()
