"""Debian's nginx with the SHIPPED ``ops/nginx/data-collector.conf`` in front of the API and the
dashboard, each under its shipped gunicorn config, on loopback, HTTPS on a port that is not
443 (the site is templated for ports and paths only; ``tests/deploy_stack.py``).

An operator's checks: signing in on the dashboard's login form works through the proxy
(its same-origin check compares Origin with the Host nginx passes on), the browser's
WebSocket to the API opens and authenticates through the proxy, an oversize body is
refused by nginx with 413, and the client address the API records is the one nginx saw,
never an ``X-Forwarded-For`` the client made up. nginx comes from
``ops/install-deploy-tools.sh`` (``make test`` runs it).
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from websockets.asyncio.client import connect

from control.auth.models import User
from control.auth.roles import Role
from control.auth.users import create_user
from control.db.database import connect_url
from tests.deploy_stack import (
    API_CONF,
    DASHBOARD_CONF,
    SITE,
    Process,
    gunicorn,
    nginx,
    render_site,
    self_signed_certificate,
)
from tests.live_server import HOST, free_port, migrated_sqlite, server_env

EMAIL = "operator@example.com"
PASSWORD = "proxy-test-password-0123456789"
FORGED = "203.0.113.9"
HEALTH = "/api/v1/system/health"


@dataclass
class Site:
    base: str  # https://127.0.0.1:<port>
    port: int
    ssl: ssl.SSLContext
    database: str
    processes: list[Process]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, verify=self.ssl, timeout=20, trust_env=False)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-2000:]}" for p in self.processes)

    def audited_ips(self, action: str) -> list[str]:
        with sqlite3.connect(self.database.removeprefix("sqlite:///")) as conn:
            rows = conn.execute("SELECT ip FROM audit_log WHERE action = ?", (action,))
            return [ip for (ip,) in rows]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("nginx")
    database = migrated_sqlite(root / "site.sqlite3")
    db = connect_url(database)
    with db.bind_ctx([User]):
        create_user(EMAIL, PASSWORD, Role.OPERATOR)
    db.close()
    https_port = free_port()
    base = f"https://{HOST}:{https_port}"
    env = server_env(
        database,
        DC_TRUSTED_PROXIES="127.0.0.1",  # nginx on this host, and nothing else
        DC_API_WORKERS="1",
        DC_AGENT_EMBEDDED="false",
        DC_DASHBOARD_PUBLIC_API_URL=base,
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    processes: list[Process] = []
    try:
        api = gunicorn("api", API_CONF, "control.cli.asgi:app", env, root, "DC_API_PORT", HEALTH)
        processes.append(api.start(timeout=60))
        dashboard_env = {**env, "DC_DASHBOARD_API_URL": f"http://{HOST}:{api.port}"}
        dashboard = gunicorn(
            "dashboard",
            DASHBOARD_CONF,
            "dashboard.server:server",
            dashboard_env,
            root,
            "DC_DASHBOARD_PORT",
            "/dashboard/login",
        )
        processes.append(dashboard.start(timeout=60))
        cert, key = self_signed_certificate(root)
        text = render_site(
            SITE.read_text(),
            http_port=free_port(),
            https_port=https_port,
            api_port=api.port,
            dashboard_port=dashboard.port,
            cert=cert,
            key=key,
            log_dir=root,
        )
        processes.append(nginx(text, root, https_port).start())
        context = ssl.create_default_context(cafile=str(cert))
        yield Site(base, https_port, context, database, processes)
    finally:
        for process in reversed(processes):
            process.stop()


def test_signing_in_on_the_dashboard_through_the_proxy(site: Site) -> None:
    with site.client() as browser:
        form = browser.get("/dashboard/login")
        assert form.status_code == 200, site.logs()
        answer = browser.post(
            "/dashboard/login",
            data={"email": EMAIL, "password": PASSWORD, "next": "/dashboard/"},
            # what a browser sends for a form on this page: the origin with its port
            headers={"Origin": site.base, "X-Forwarded-For": FORGED},
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/dashboard/"
        page = browser.get("/dashboard/")
        assert page.status_code == 200, page.text[:500]  # signed in: no redirect to the form
        assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert FORGED not in site.audited_ips("auth.login")
    assert site.audited_ips("auth.login")[-1] == "127.0.0.1"


def test_a_websocket_through_the_proxy_opens_and_authenticates(site: Site) -> None:
    with site.client() as client:
        answer = client.post("/api/v1/auth/token", json={"username": EMAIL, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token = answer.json()["data"]["access_token"]

    async def main() -> dict[str, object]:
        url = f"wss://{HOST}:{site.port}/api/v1/ws/logs"
        # the dashboard page's origin, as the browser sends it on the handshake
        async with connect(url, ssl=site.ssl, origin=site.base, proxy=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if frame["type"] != "heartbeat":
                    return frame

    first = asyncio.run(main())
    assert first["type"] == "auth_ok", first


def test_an_oversize_body_is_refused_by_the_proxy_with_413(site: Site) -> None:
    # the declared length is enough: nginx answers before reading a byte of the body
    request = (
        f"POST /api/v1/apps HTTP/1.1\r\nHost: {HOST}:{site.port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {11 * 1024 * 1024}\r\nConnection: close\r\n\r\n"
    ).encode()
    with (
        socket.create_connection((HOST, site.port), timeout=10) as raw,
        site.ssl.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        tls.sendall(request)
        status_line = tls.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"


def test_the_api_takes_the_client_address_from_the_proxy_only(site: Site) -> None:
    with site.client() as client:
        answer = client.post(
            "/api/v1/auth/token",
            json={"username": "nobody@example.com", "password": "wrong-password-123"},
            headers={"X-Forwarded-For": FORGED},
        )
    assert answer.status_code == 401, answer.text
    assert site.audited_ips("auth.login_failed") == ["127.0.0.1"]
