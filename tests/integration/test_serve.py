"""``dcctl`` as a real process: version, start-up errors, ``serve`` and its shutdown."""

from __future__ import annotations

import contextlib
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from control import __version__
from tests.live_server import (
    LiveServer,
    free_port,
    migrated_sqlite,
    run_dcctl,
    server_env,
)

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    return lines[0]


# -- the command line --------------------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    result = run_dcctl("--version", env=server_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"dcctl, version {__version__}"


def test_missing_secret_fails_in_one_line(tmp_path: Path) -> None:
    env = server_env(_sqlite_url(tmp_path), DC_JWT_SECRET=None)
    result = run_dcctl("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "DC_JWT_SECRET" in _one_line(result.stderr)
    assert not (tmp_path / "fresh.sqlite3").exists()


def test_bad_port_fails_in_one_line(tmp_path: Path) -> None:
    env = server_env(_sqlite_url(tmp_path), DC_API_PORT="abc")
    result = run_dcctl("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "DC_API_PORT" in _one_line(result.stderr)


def test_short_secret_fails_in_one_line(tmp_path: Path) -> None:
    env = server_env(_sqlite_url(tmp_path), DC_JWT_SECRET="too-short")
    result = run_dcctl("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode != 0
    line = _one_line(result.stderr)
    assert "DC_JWT_SECRET" in line
    assert "at least 32 bytes" in line


def test_serve_refuses_pending_migrations(tmp_path: Path) -> None:
    env = server_env(_sqlite_url(tmp_path), DC_API_PORT=str(free_port()))
    result = run_dcctl("serve", env=env, cwd=tmp_path, timeout=30)
    assert result.returncode != 0
    assert "dcctl db upgrade" in result.stderr


# -- serving -----------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    url = migrated_sqlite(tmp_path / "serve.sqlite3")
    with LiveServer(url, log_dir=tmp_path) as live:
        yield live


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http://127.0.0.1 only
    with _opener.open(request, timeout=5) as resp:
        return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()


def test_serve_answers_and_logs_request_ids(server: LiveServer) -> None:
    status, headers, body = _get(
        f"{server.url}/api/v1/system/health", **{"X-Request-ID": "test-req-000001"}
    )
    assert status == 200
    assert body == b'{"data":{"status":"healthy"}}'
    assert headers["x-request-id"] == "test-req-000001"

    status, headers, _ = _get(f"{server.url}/api/openapi.json")
    assert status == 200
    generated = headers["x-request-id"]
    assert generated

    server.stop()  # flushes and closes the log
    log = server.stderr_text()
    assert "[test-req-000001] GET /api/v1/system/health 200" in log
    assert f"[{generated}] GET /api/openapi.json 200" in log


def test_serve_exits_zero_on_sigterm_after_a_graceful_shutdown(server: LiveServer) -> None:
    started = time.monotonic()
    returncode = server.stop(signal.SIGTERM, timeout=15)
    assert time.monotonic() - started < 15
    log = server.stderr_text()
    assert "Application shutdown complete" in log
    assert "Finished server process" in log
    assert returncode == 0, log


def test_serve_logs_no_query_string(server: LiveServer) -> None:
    secret = "leaked-token-0123456789abcdef"
    ws_url = server.url.replace("http://", "ws://")
    for path in ("/api/v1/ws/logs", "/api/v1/ws/dashboard"):
        try:
            with (
                ws_connect(f"{ws_url}{path}?token={secret}", open_timeout=5) as ws,
                contextlib.suppress(ConnectionClosed, TimeoutError),
            ):
                ws.recv(timeout=2)
        except InvalidStatus:
            pass  # refused before the upgrade: still logged by the server
    with contextlib.suppress(urllib.error.HTTPError):
        _get(f"{server.url}/api/v1/apps?token={secret}")

    server.stop()
    log = server.stderr_text()
    assert '"WebSocket /api/v1/ws/logs"' in log  # uvicorn did log the connection
    assert secret not in log
    assert "?token=" not in log
