"""App health end to end: the reference agent (``dcctl agent``) runs the apps of
``tests/agent_apps.py`` on a scratch PostgreSQL database, publishing on the real Redis
bus; the evaluator runs here on a tick as the scheduler would send it; the notification
router listens on Redis and delivers to a local webhook receiver.

Each verdict is raised, reaches the webhook once within the channel's dedup window,
and clears when the next run is normal:

* ``slow`` while a run is still going, judged against the app's own earlier runs;
* ``stalled``: a run that heart-beats but reports no progress;
* ``missed``: ``next_run`` passes while the app's agent is stopped;
* ``low_output``: a completed run with zero records.

The settings are in seconds (``DC_HEALTH_*``), so each test takes a few seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg2
import pytest

from control.apps.models import Apps
from control.clock import utcnow
from control.db.database import connect_url, database
from control.events.publish import install, uninstall
from control.events.redis_bus import RedisBus
from control.health import services as health
from control.health.models import HealthVerdict
from control.notifications import deliveries
from control.notifications import services as channels
from control.notifications.router import NotificationRouter
from control.settings import get_settings
from control.tasks.interface import ActorRef
from tests import agent_apps
from tests.live_server import DCCTL, run_dcctl, server_env
from tests.waiting import wait_until

pytestmark = [pytest.mark.services, pytest.mark.postgres]

POSTGRES_URL = os.environ.get(
    "DC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = "redis://127.0.0.1:6379/13"
REPO = Path(__file__).resolve().parents[2]
SECRET = "whsec-health-test-0123456789abcdef"
DEDUP_SECONDS = 120
HEALTH_ENV = {
    "DC_HEALTH_MIN_RUNS": "2",
    "DC_HEALTH_SLOW_FACTOR": "1.5",
    "DC_HEALTH_LOW_OUTPUT_FACTOR": "0.5",
    "DC_HEALTH_STALLED_SECONDS": "2",
    "DC_HEALTH_MISSED_GRACE_SECONDS": "1",
    "DC_AGENT_POLL_SECONDS": "0.2",
    "DC_AGENT_HEARTBEAT_SECONDS": "0.5",
    "DC_AGENT_STALE_AFTER_SECONDS": "10",
    "DC_AGENT_FATAL_AFTER": "3",
}


def _admin() -> Any:
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


@pytest.fixture(scope="module")
def scratch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scratch PostgreSQL database migrated by ``dcctl db upgrade``, bound here."""
    name = f"dc_health_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = urlparse(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    previous = database.obj
    try:
        result = run_dcctl(
            "db", "upgrade", env=server_env(url), cwd=tmp_path_factory.mktemp("migrate")
        )
        assert result.returncode == 0, result.stderr
        database.initialize(connect_url(url))
        yield url
    finally:
        if not database.is_closed():
            database.close()
        database.initialize(previous)
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(scope="module")
def channel_name() -> str:
    return f"dc:test:health:{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def settings_env(channel_name: str) -> Iterator[None]:
    """This process reads the same health settings as the agent."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in HEALTH_ENV.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


class Receiver:
    """A webhook receiver: keeps the JSON of each POST."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                bodies.append(json.loads(raw))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def health(self, app_id: str, verdict: str | None = None) -> list[tuple[str, str]]:
        """(verdict, raised|cleared) of each ``app.health`` POST about ``app_id``, only
        of ``verdict`` when given (a loaded machine may also make a run ``missed``)."""
        return [
            (b["data"]["verdict"], b["data"]["state"])
            for b in list(self.bodies)
            if b["event"] == "app.health"
            and b["data"].get("app") == app_id
            and verdict in (None, b["data"]["verdict"])
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SendNow:
    """The task queue of the router: sends each delivery at once (the actor's work)."""

    def send(self, actor: ActorRef, *args: Any, **_: Any) -> None:
        deliveries.attempt(args[0], final=True)


@pytest.fixture(scope="module")
def receiver(scratch_url: str, settings_env: None) -> Iterator[Receiver]:
    got = Receiver()
    channels.create_channel(
        name="ops-health",
        type="webhook",
        config={"url": got.url, "secret": SECRET},
        events=["app.health"],
        min_severity="info",
        dedup_window_seconds=DEDUP_SECONDS,
    )
    yield got
    got.close()


@pytest.fixture(scope="module")
def router(receiver: Receiver, channel_name: str) -> Iterator[NotificationRouter]:
    """The router on the Redis bus, and this process publishing there too."""
    listen = RedisBus(REDIS_URL, channel=channel_name)
    publisher = RedisBus(REDIS_URL, channel=channel_name)
    install(publisher)
    routing = NotificationRouter(listen, SendNow(), 0.25)  # type: ignore[arg-type]
    routing.start()
    assert listen.listening(5)
    yield routing
    routing.stop()
    uninstall(publisher)
    listen.close()
    publisher.close()


@pytest.fixture(scope="module")
def evaluator(router: NotificationRouter) -> Iterator[None]:
    """``evaluate_health`` on a 0.3 s tick, as the scheduler sends it."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.3):
            with contextlib.suppress(Exception):
                health.evaluate_all()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)


class Agent:
    """``dcctl agent`` for one group, publishing on the Redis bus."""

    def __init__(self, url: str, group: str, channel: str, log_dir: Path) -> None:
        self.log_path = log_dir / f"agent-{group}.log"
        env = server_env(
            url,
            DC_REDIS_URL=REDIS_URL,
            DC_EVENTS_CHANNEL=channel,
            DC_AGENT_APPS=agent_apps.AGENT_APPS,
            PYTHONPATH=str(REPO),
            **HEALTH_ENV,
        )
        with self.log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                [str(DCCTL), "agent", "--group", group, "--name", f"health-{group}"],
                env=env,
                cwd=log_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)


@pytest.fixture(scope="module")
def group() -> str:
    return f"health{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def agent(
    scratch_url: str, group: str, channel_name: str, evaluator: None, tmp_path_factory
) -> Iterator[Agent]:
    running = Agent(scratch_url, group, channel_name, tmp_path_factory.mktemp("agent"))
    try:
        assert wait_until(lambda: "agent" in running.output().lower(), 20), running.output()
        yield running
    finally:
        running.stop()


def make(group: str, key: str, settings: dict[str, Any]) -> str:
    app_id = f"{group}_{key}"
    Apps.create(id=app_id, group=group, parent="it", app=app_id, settings=settings)
    return app_id


def settle(app_id: str, **settings: Any) -> None:
    """Change the app's settings (read by its next run)."""
    app = Apps.get_by_id(app_id)
    Apps.update(settings={**app.settings, **settings}).where(Apps.id == app_id).execute()


def run_once(app_id: str, agent: Agent, timeout: float = 15) -> None:
    """Make the app due now and wait until that run has ended."""
    before = Apps.get_by_id(app_id).last_runtime
    Apps.update(next_run=utcnow()).where(Apps.id == app_id).execute()
    ended = wait_until(lambda: Apps.get_by_id(app_id).last_runtime != before, timeout)
    assert ended, agent.output()[-3000:]


def start(app_id: str) -> None:
    Apps.update(next_run=utcnow()).where(Apps.id == app_id).execute()


def evidence_of(app_id: str, verdict: str) -> dict[str, Any]:
    """The evidence of the newest ``verdict`` raised on ``app_id``."""
    row = (
        HealthVerdict.select()
        .where(HealthVerdict.app == app_id, HealthVerdict.verdict == verdict)
        .order_by(HealthVerdict.raised_at.desc())
        .get()
    )
    return dict(row.evidence)


def holds(app_id: str) -> set[str]:
    return {
        v.verdict
        for v in HealthVerdict.select().where(
            HealthVerdict.app == app_id, HealthVerdict.cleared_at.is_null()
        )
    }


def test_slow_is_raised_while_running_and_clears_on_a_normal_run(
    agent: Agent, receiver: Receiver, group: str
) -> None:
    app_id = make(group, "slow", {"entrypoint": "test.long", "items": 3, "delay": 0.05})
    run_once(app_id, agent)
    run_once(app_id, agent)
    settle(app_id, items=40, delay=0.1)  # ~4 s against a baseline of ~0.2 s
    start(app_id)
    assert wait_until(lambda: "slow" in holds(app_id), 10), agent.output()[-3000:]
    running = Apps.get_by_id(app_id)
    assert running.current_runtime is not None  # raised while the run goes on
    evidence = evidence_of(app_id, "slow")
    assert evidence["running"] is True
    assert wait_until(lambda: receiver.health(app_id, "slow") == [("slow", "raised")], 5)
    assert wait_until(lambda: Apps.get_by_id(app_id).current_runtime is None, 10)
    settle(app_id, items=3, delay=0.05)
    run_once(app_id, agent)
    assert wait_until(lambda: "slow" not in holds(app_id), 5)
    assert wait_until(
        lambda: receiver.health(app_id, "slow") == [("slow", "raised"), ("slow", "cleared")], 5
    ), receiver.health(app_id, "slow")


def test_stalled_when_the_run_heartbeats_without_progress(
    agent: Agent, receiver: Receiver, group: str
) -> None:
    app_id = make(group, "stalled", {"entrypoint": "test.stubborn", "seconds": 4})
    start(app_id)
    assert wait_until(lambda: "stalled" in holds(app_id), 8), agent.output()[-3000:]
    evidence = evidence_of(app_id, "stalled")
    assert evidence["quiet_seconds"] > 2
    assert wait_until(lambda: receiver.health(app_id, "stalled") == [("stalled", "raised")], 5)
    assert wait_until(lambda: "stalled" not in holds(app_id), 8)  # the run ended: cleared
    settle(app_id, entrypoint="test.quick", items=3)
    run_once(app_id, agent)
    assert wait_until(lambda: "stalled" not in holds(app_id), 5)
    assert wait_until(
        lambda: (
            receiver.health(app_id, "stalled") == [("stalled", "raised"), ("stalled", "cleared")]
        ),
        5,
    ), receiver.health(app_id, "stalled")


def test_missed_while_the_agent_is_stopped(
    scratch_url: str, receiver: Receiver, channel_name: str, evaluator: None, tmp_path: Path
) -> None:
    other = f"missed{uuid.uuid4().hex[:6]}"
    app_id = make(other, "missed", {"entrypoint": "test.quick", "items": 3})
    Apps.update(next_run=utcnow() + dt.timedelta(seconds=0.5)).where(Apps.id == app_id).execute()
    assert wait_until(lambda: "missed" in holds(app_id), 8)
    evidence = evidence_of(app_id, "missed")
    assert evidence["late_seconds"] > 1
    assert wait_until(lambda: receiver.health(app_id) == [("missed", "raised")], 5)
    agent = Agent(scratch_url, other, channel_name, tmp_path)  # its agent comes back
    try:
        assert wait_until(lambda: Apps.get_by_id(app_id).last_runtime is not None, 15), (
            agent.output()[-3000:]
        )
        assert wait_until(lambda: holds(app_id) == set(), 5)
    finally:
        agent.stop()
    assert wait_until(
        lambda: receiver.health(app_id) == [("missed", "raised"), ("missed", "cleared")], 5
    ), receiver.health(app_id)


def test_low_output_on_zero_records_once_within_the_dedup_window(
    agent: Agent, receiver: Receiver, group: str
) -> None:
    app_id = make(group, "low", {"entrypoint": "test.quick", "items": 5})
    run_once(app_id, agent)
    run_once(app_id, agent)
    settle(app_id, items=0)
    run_once(app_id, agent)
    assert wait_until(lambda: "low_output" in holds(app_id), 5)
    evidence = evidence_of(app_id, "low_output")
    assert (evidence["records"], evidence["records_p50"]) == (0, 5)
    assert wait_until(
        lambda: receiver.health(app_id, "low_output") == [("low_output", "raised")], 5
    )
    settle(app_id, items=5)
    run_once(app_id, agent)
    assert wait_until(lambda: "low_output" not in holds(app_id), 5)
    # raised and cleared again within the window: the channel hears each once
    settle(app_id, items=0)
    run_once(app_id, agent)
    assert wait_until(lambda: "low_output" in holds(app_id), 5)
    settle(app_id, items=5)
    run_once(app_id, agent)
    assert wait_until(lambda: "low_output" not in holds(app_id), 5)
    raised_twice = (
        HealthVerdict.select()
        .where(HealthVerdict.app == app_id, HealthVerdict.verdict == "low_output")
        .count()
    )
    assert raised_twice == 2
    assert wait_until(lambda: len(receiver.health(app_id, "low_output")) >= 2, 5)
    assert receiver.health(app_id, "low_output") == [
        ("low_output", "raised"),
        ("low_output", "cleared"),
    ]
