"""The agent as in production: real RabbitMQ and PostgreSQL, every part its own process.

``dcctl serve`` (with ``DC_RABBITMQ_URL``, so no in-process relay or agent), ``dcctl relay``
publishing the outbox to RabbitMQ, and ``dcctl agent`` hosting the small apps of
``tests/agent_apps.py`` (registered through ``DC_AGENT_APPS``) for one group, with its
own durable queue. The test drives everything through the API as an operator would:
START runs the app (progress, logs, function logs, a completed runtime), STOP ends a
long run as STOPPED within the grace period, three failures turn an app FATAL and RESET
clears it, and an agent killed with SIGKILL mid-run leaves a runtime that the next
agent start closes as FAILED.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pika
import psycopg2
import pytest

from control.agent.stale import RESTARTED
from control.apps.models import Apps
from control.auth.roles import Role
from control.auth.users import create_user
from control.db.database import connect_url, database
from tests import agent_apps
from tests.live_server import DCCTL, LiveServer, run_dcctl, server_env

pytestmark = [pytest.mark.services, pytest.mark.postgres]

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
POSTGRES_URL = os.environ.get(
    "DC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REPO = Path(__file__).resolve().parents[2]
EMAIL = "operator@example.com"
PASSWORD = "agent-test-password-0123456789"
GRACE = 3.0
FATAL_AFTER = 3


def _admin() -> psycopg2.extensions.connection:
    parsed = urlparse(POSTGRES_URL)
    conn = psycopg2.connect(
        dbname=parsed.path.lstrip("/") or "postgres",
        user=parsed.username or "postgres",
        password=parsed.password,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
    )
    conn.autocommit = True
    return conn


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """A scratch PostgreSQL database, migrated by ``dcctl db upgrade``; dropped after."""
    name = f"dc_agent_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = urlparse(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    try:
        result = run_dcctl("db", "upgrade", env=server_env(url), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def group() -> str:
    return f"agentit{uuid.uuid4().hex[:8]}"


@pytest.fixture
def apps(scratch_url: str, group: str) -> dict[str, str]:
    """The operator and one app per test app, written straight into the scratch database."""
    previous = database.obj
    db = connect_url(scratch_url)
    database.initialize(db)
    try:
        with db.connection_context():
            create_user(EMAIL, PASSWORD, Role.OPERATOR)
            made = {}
            for key, settings in (
                ("quick", {"entrypoint": "test.quick", "items": 6}),
                ("long", {"entrypoint": "test.long", "items": 600, "delay": 0.05}),
                ("failing", {"entrypoint": "test.failing"}),
                ("victim", {"entrypoint": "test.long", "items": 600, "delay": 0.05}),
            ):
                app_id = f"{group}_{key}"
                Apps.create(id=app_id, group=group, parent="it", app=app_id, settings=settings)
                made[key] = app_id
        return made
    finally:
        db.close()
        database.initialize(previous)


class Process:
    """A ``dcctl`` subprocess in its own process group, output in ``<name>.log``."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.log_path = log_dir / f"{name}.log"
        with self.log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                [str(DCCTL), *args],
                env=env,
                cwd=log_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(sig)

    def stop(self, timeout: float = 20) -> int | None:
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class Api:
    """The API as the operator: log in once, then GET and POST with the bearer token."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=10)
        answer = self.client.post(
            "/api/v1/auth/token", json={"username": EMAIL, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["data"]["access_token"]
        self.client.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, **params: Any) -> Any:
        answer = self.client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    def command(self, app_id: str, verb: str) -> str:
        answer = self.client.post(f"/api/v1/apps/{app_id}/{verb}")
        assert answer.status_code == 202, answer.text
        return answer.json()["data"]["id"]

    def app(self, app_id: str) -> dict[str, Any]:
        return self.get(f"/api/v1/apps/{app_id}")

    def runtimes(self, app_id: str) -> list[dict[str, Any]]:
        return self.get("/api/v1/runtimes", app=app_id)


def wait_until(check, timeout: float, what: str, *logs: Process) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.log_path.name}\n{p.output()[-3000:]}" for p in logs)
            raise AssertionError(f"timed out after {timeout}s: {what}\n{tails}")
        time.sleep(0.1)


def _delete_queue(name: str) -> None:
    with contextlib.suppress(pika.exceptions.AMQPError, OSError):
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
        try:
            connection.channel().queue_delete(name)
        finally:
            connection.close()


def test_the_agent_obeys_the_api_over_rabbitmq(
    scratch_url: str, apps: dict[str, str], group: str, tmp_path: Path
) -> None:
    agent_name = f"it-{uuid.uuid4().hex[:8]}"
    env = server_env(
        scratch_url,
        DC_RABBITMQ_URL=RABBITMQ_URL,
        DC_AGENT_APPS=agent_apps.AGENT_APPS,
        DC_AGENT_STOP_GRACE_SECONDS=str(GRACE),
        DC_AGENT_FATAL_AFTER=str(FATAL_AFTER),
        DC_AGENT_POLL_SECONDS="2",
        DC_AGENT_HEARTBEAT_SECONDS="1",
        PYTHONPATH=str(REPO),
    )
    agent_args = ["agent", "--group", group, "--name", agent_name]
    started: list[Process] = []
    api: Api | None = None
    try:
        with LiveServer(
            scratch_url, log_dir=tmp_path, extra_env={"DC_RABBITMQ_URL": RABBITMQ_URL}
        ) as server:
            relay = Process("relay", ["relay", "--idle-sleep", "0.2"], env, tmp_path)
            agent = Process("agent", agent_args, env, tmp_path)
            started += [relay, agent]
            api = Api(server.url)
            wait_until(lambda: "consuming dc.agent." in agent.output(), 20, "agent up", agent)

            # START: the run completes, with logs and function logs
            command_id = api.command(apps["quick"], "start")
            runs = wait_until(
                lambda: [r for r in api.runtimes(apps["quick"]) if r["status"] == "COMPLETED"],
                20,
                "quick run completed",
                agent,
                relay,
            )
            (run,) = runs
            assert run["trigger"] == "command"
            assert run["host"] == agent_name
            assert run["records"] == {"total": 6, "solved": 6, "failed": 0}
            assert run["id"].endswith(f"_{apps['quick']}")
            acknowledged = wait_until(
                lambda: (
                    api.get(f"/api/v1/commands/{command_id}")["status"] == "acknowledged"
                    and api.get(f"/api/v1/commands/{command_id}")
                ),
                10,
                "command acknowledged",
                agent,
            )
            assert acknowledged["acknowledged_by"] == f"agent {agent_name}"
            logs = wait_until(
                lambda: api.get("/api/v1/logs", runtime=run["id"], limit=100),
                10,
                "logs written",
                agent,
            )
            messages = [entry["message"] for entry in logs]
            assert "quick run over 6 items" in messages
            assert any(m.startswith("Run completed in ") for m in messages)
            calls = api.get("/api/v1/performance/functions", app=apps["quick"])
            assert {c["function_name"] for c in calls} == {"fetch", "parse"}
            assert all(c["runtime_id"] == run["id"] for c in calls)

            # a long run: progress moves; STOP ends it as STOPPED within the grace period
            api.command(apps["long"], "start")
            first = wait_until(
                lambda: (
                    (api.app(apps["long"])["progress"]["current"] or 0) > 0
                    and api.app(apps["long"])["progress"]
                ),
                20,
                "long run progressing",
                agent,
            )
            assert first["total"] == 600
            wait_until(
                lambda: api.app(apps["long"])["progress"]["current"] > first["current"],
                10,
                "progress moving",
                agent,
            )
            asked = time.monotonic()
            api.command(apps["long"], "stop")
            stopped = wait_until(
                lambda: [r for r in api.runtimes(apps["long"]) if r["status"] == "STOPPED"],
                GRACE + 10,
                "long run stopped",
                agent,
            )
            assert time.monotonic() - asked < GRACE + 3  # delivery, then a cooperative stop
            assert 0 < stopped[0]["records"]["solved"] < 600
            assert api.app(apps["long"])["run_status"] == "IDLE"

            # failing FATAL_AFTER times in a row turns the app FATAL; RESET clears it
            for attempt in range(1, FATAL_AFTER + 1):
                wait_until(
                    lambda: api.app(apps["failing"])["command_flag"] == "NONE",
                    10,
                    "flag cleared",
                    agent,
                )
                api.command(apps["failing"], "start")
                wait_until(
                    lambda n=attempt: (
                        len([r for r in api.runtimes(apps["failing"]) if r["status"] == "FAILED"])
                        == n
                    ),
                    15,
                    f"failure {attempt}",
                    agent,
                )
            fatal = wait_until(
                lambda: (
                    api.app(apps["failing"])["fatal_flag"] == "FATAL" and api.app(apps["failing"])
                ),
                10,
                "app fatal",
                agent,
            )
            assert fatal["consecutive_failures"] == FATAL_AFTER
            assert "RuntimeError: source is down" in fatal["fatal_reason"]
            reset_id = api.command(apps["failing"], "reset")
            wait_until(
                lambda: api.get(f"/api/v1/commands/{reset_id}")["status"] == "acknowledged",
                10,
                "reset acknowledged",
                agent,
            )
            cleared = api.app(apps["failing"])
            assert (cleared["fatal_flag"], cleared["run_status"]) == ("NO_FATAL", "IDLE")
            assert cleared["consecutive_failures"] == 0

            # SIGKILL mid-run: the next start of the agent closes the runtime as FAILED
            api.command(apps["victim"], "start")
            wait_until(
                lambda: (api.app(apps["victim"])["progress"]["current"] or 0) > 0,
                20,
                "victim running",
                agent,
            )
            agent.kill()
            (orphan,) = api.runtimes(apps["victim"])
            assert orphan["status"] == "RUNNING"
            time.sleep(1.0)
            assert api.runtimes(apps["victim"])[0]["status"] == "RUNNING"  # nobody closed it
            agent = Process("agent-2", agent_args, env, tmp_path)
            started.append(agent)
            closed = wait_until(
                lambda: [r for r in api.runtimes(apps["victim"]) if r["status"] == "FAILED"],
                20,
                "orphan closed",
                agent,
            )
            assert closed[0]["id"] == orphan["id"]
            assert closed[0]["error"] == RESTARTED
            assert api.app(apps["victim"])["run_status"] == "FAILED"

            # SIGTERM: the agent exits cleanly
            assert agent.stop() == 0
            assert relay.stop() == 0
    finally:
        if api is not None:
            api.close()
        for process in started:
            process.kill()
        _delete_queue(f"dc.agent.{agent_name}")
