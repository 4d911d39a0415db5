"""The API under the shipped ``ops/gunicorn.conf.py`` with two workers, as systemd starts it.

* ``/metrics`` sums the request counters of both workers (prometheus_client's
  multiprocess mode, a clean directory per start): every scrape reports every request.
* The client address is decided by ``DC_TRUSTED_PROXIES`` alone: with no trusted proxy a
  direct request carrying ``X-Forwarded-For`` is audited under its real peer address,
  not the forged one (uvicorn's own proxy handling is off).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from control.system.prometheus import sample_value
from tests.deploy_stack import API_CONF, Process, gunicorn
from tests.live_server import migrated_sqlite, server_env

HEALTH = "/api/v1/system/health"
FORGED = "203.0.113.9"


@pytest.fixture
def database(tmp_path: Path) -> str:
    return migrated_sqlite(tmp_path / "api.sqlite3")


@pytest.fixture
def api(database: str, tmp_path: Path) -> Iterator[Process]:
    env = server_env(
        database,
        DC_API_WORKERS="2",
        DC_RATE_LIMIT_PER_MINUTE="100000",
        DC_AUTH_RATE_LIMIT_PER_MINUTE="100000",
        DC_AGENT_EMBEDDED="false",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with gunicorn(
        "api", API_CONF, "control.cli.asgi:app", env, tmp_path, "DC_API_PORT", HEALTH
    ) as process:
        yield process


def _health_count(text: str) -> float:
    labels = {"method": "GET", "route": HEALTH, "status": "2xx"}
    return sample_value(text, "dc_http_requests_total", labels) or 0.0


def test_metrics_sum_the_counters_of_every_worker(api: Process) -> None:
    base = f"http://127.0.0.1:{api.port}"
    with httpx.Client(base_url=base, timeout=10) as client:  # the start-up probes' count
        before = _health_count(client.get("/metrics").text)
    requests = 40
    for _ in range(requests):  # a new connection each: the kernel spreads them over workers
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get(HEALTH).status_code == 200
    seen = []
    for _ in range(8):
        with httpx.Client(base_url=base, timeout=10) as client:
            answer = client.get("/metrics")
        assert answer.status_code == 200, answer.text
        seen.append(_health_count(answer.text))
    # one worker's share would be less, and would change from scrape to scrape
    assert seen == [before + requests] * len(seen), api.output()[-3000:]


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_not_believed(
    api: Process, database: str
) -> None:
    answer = httpx.post(
        f"http://127.0.0.1:{api.port}/api/v1/auth/token",
        json={"username": "nobody@example.com", "password": "wrong-password-123"},
        headers={"X-Forwarded-For": FORGED},
        timeout=10,
    )
    assert answer.status_code == 401, answer.text
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        rows = conn.execute(
            "SELECT ip FROM audit_log WHERE action = 'auth.login_failed'"
        ).fetchall()
    assert rows == [("127.0.0.1",)]
