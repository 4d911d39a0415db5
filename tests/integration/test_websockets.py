"""The WebSocket feeds end to end: real ``dcctl serve`` processes, the real Redis, and the
``websockets`` client.

Events are published into Redis from the test (``RedisBus`` on the servers' channel),
as a worker or an agent would. Each module gets a channel of its own: pub/sub is not
scoped by Redis database, and other test runs may share the server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from control.auth.api_keys import create_key
from control.auth.models import ApiKey, User
from control.auth.roles import Role
from control.auth.tokens import TokenService, new_id
from control.clock import utcnow
from control.db.database import connect_url, database
from control.events import Event, EventType
from control.events.redis_bus import RedisBus
from control.logs.models import Logs
from control.settings import load_settings
from tests.live_server import LIVE_SECRET, LiveServer, migrated_sqlite

pytestmark = pytest.mark.services

REDIS_URL = "redis://127.0.0.1:6379/13"
DASHBOARD = "/api/v1/ws/dashboard"
LOGS = "/api/v1/ws/logs"
ALLOWED_ORIGIN = "http://dashboard.example"
RECV = 5.0  # seconds to wait for an expected frame


# -- the deployment --------------------------------------------------------------------------


@dataclass
class Deployment:
    """A migrated database, an events channel, and what a test needs around them."""

    database_url: str
    channel: str
    log_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "DC_REDIS_URL": REDIS_URL,
            "DC_EVENTS_CHANNEL": self.channel,
            "DC_AUTH_RATE_LIMIT_PER_MINUTE": "10000",
            "DC_RATE_LIMIT_PER_MINUTE": "10000",
            "DC_CORS_ORIGINS": ALLOWED_ORIGIN,
            **extra,
        }

    def server(self, name: str = "server", **extra: str) -> LiveServer:
        return LiveServer(
            self.database_url, log_dir=self.log_dir, extra_env=self.env(**extra), name=name
        )

    def user(self, role: Role = Role.VIEWER) -> str:
        email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
        db = connect_url(self.database_url)
        with db.bind_ctx([User]):
            User.create(email=email, password_hash="unused", role=role)
        db.close()
        return email

    def api_key(self, email: str) -> tuple[str, int]:
        # create_key opens its transaction on the process-wide proxy: bind it for the call
        # (the test passed only when an earlier test had left the proxy bound)
        previous = database.obj
        db = connect_url(self.database_url)
        database.initialize(db)
        try:
            with db.bind_ctx([User, ApiKey]):
                new = create_key(User.get(User.email == email), "live feed", None)
        finally:
            db.close()
            database.initialize(previous)
        return new.key, new.row.id

    def revoke_key(self, key_id: int) -> None:
        db = connect_url(self.database_url)
        with db.bind_ctx([ApiKey]):
            ApiKey.update(revoked=utcnow()).where(ApiKey.id == key_id).execute()
        db.close()

    def add_logs(self, rows: list[dict[str, Any]]) -> None:
        db = connect_url(self.database_url)
        with db.bind_ctx([Logs]), db.atomic():
            Logs.insert_many(rows).execute()
        db.close()

    def publish(self, *events: Event) -> None:
        """Publish into Redis as another process would; returns once they are sent."""
        bus = RedisBus(REDIS_URL, channel=self.channel)
        try:
            for event in events:
                assert bus.publish(event)
        finally:
            bus.close(timeout=10)
        assert bus.stats().published == len(events)


TOKENS = TokenService(load_settings(jwt_secret=LIVE_SECRET, environment="test"))


def token(email: str, role: Role = Role.VIEWER, now: dt.datetime | None = None) -> str:
    return TOKENS.issue(
        subject=email,
        role=role,
        subject_type="user",
        use="access",
        session_id=new_id(),
        now=now,
    ).token


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    tmp = tmp_path_factory.mktemp("ws")
    return Deployment(migrated_sqlite(tmp / "db.sqlite3"), f"dc:test:ws:{uuid.uuid4().hex}", tmp)


@pytest.fixture(scope="module")
def server(deployment: Deployment) -> Iterator[LiveServer]:
    """One server for the protocol tests: short timeouts so they run fast."""
    with deployment.server(
        "shared",
        DC_WS_AUTH_TIMEOUT_SECONDS="1",
        DC_WS_RECHECK_SECONDS="1",
        DC_WS_HEARTBEAT_SECONDS="1",
    ) as live:
        yield live


def ws_url(server: LiveServer, path: str) -> str:
    return server.url.replace("http://", "ws://", 1) + path


# -- client helpers ----------------------------------------------------------------------------


async def recv(ws: ClientConnection, within: float = RECV) -> dict[str, Any]:
    """The next frame that is not a heartbeat."""
    while True:
        body = json.loads(await asyncio.wait_for(ws.recv(), within))
        if body["type"] != "heartbeat":
            return body


async def expect(ws: ClientConnection, kind: str, within: float = RECV) -> dict[str, Any]:
    body = await recv(ws, within)
    assert body["type"] == kind, body
    return body


async def closed_with(ws: ClientConnection, within: float = RECV) -> int | None:
    """Read until the server closes; its close code."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


async def open_feed(
    server: LiveServer, path: str, credential: str, *, field: str = "token"
) -> ClientConnection:
    """Connect, authenticate, and read ``auth_ok`` and ``subscribed``."""
    ws = await dial(ws_url(server, path), proxy=None, open_timeout=RECV)
    await ws.send(json.dumps({"type": "auth", field: credential}))
    await expect(ws, "auth_ok")
    await expect(ws, "subscribed")
    return ws


def log_event(app: str, level: str | int, message: str = "m") -> Event:
    return Event.of(EventType.LOG_ENTRY, {"app": app, "level": level, "message": message})


_opened: list[ClientConnection] = []  # this run's connections, for the cleanup below


async def dial(url: str, **kwargs: Any) -> ClientConnection:
    """``connect``, remembering the connection so :func:`run` closes it whatever happens."""
    ws = await connect(url, **kwargs)
    _opened.append(ws)
    return ws


def run(coro: Any) -> Any:
    """Run ``coro``; then drop any connection it left open (a failed assertion skips its
    closes, and the socket would otherwise be reported unclosed in a later test)."""

    async def guarded() -> Any:
        try:
            return await coro
        finally:
            while _opened:
                _opened.pop().transport.abort()
            await asyncio.sleep(0)  # the transports close their sockets on the next turn

    return asyncio.run(guarded())


# -- authentication ----------------------------------------------------------------------------


def test_auth_in_the_first_message(server: LiveServer, deployment: Deployment) -> None:
    email = deployment.user(Role.OPERATOR)

    async def main() -> dict[str, Any]:
        async with connect(ws_url(server, DASHBOARD), proxy=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token(email, Role.OPERATOR)}))
            ok = await expect(ws, "auth_ok")
            subscribed = await expect(ws, "subscribed")
            assert "log.entry" not in subscribed["data"]["types"]
            assert "app.status_changed" in subscribed["data"]["types"]
            return ok

    ok = run(main())
    assert ok["data"]["subject"] == email
    assert ok["data"]["role"] == "operator"
    assert ok["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    "first",
    [
        {"type": "auth", "token": "not-a-jwt"},
        {"type": "auth", "api_key": "dck_aaaaaaaaaaaa_" + "b" * 43},
        {"type": "ping"},
        {"type": "subscribe", "app": "*"},
        "not json",
    ],
    ids=["bad-token", "bad-key", "ping-first", "subscribe-first", "not-json"],
)
def test_wrong_or_missing_auth_closes_4401(server: LiveServer, first: Any) -> None:
    async def main() -> int | None:
        async with connect(ws_url(server, DASHBOARD), proxy=None) as ws:
            await ws.send(first if isinstance(first, str) else json.dumps(first))
            return await closed_with(ws)

    assert run(main()) == 4401


def test_no_auth_within_the_timeout_closes_4401(server: LiveServer) -> None:
    async def main() -> tuple[int | None, float]:
        async with connect(ws_url(server, LOGS), proxy=None) as ws:
            started = time.monotonic()
            code = await closed_with(ws)
            return code, time.monotonic() - started

    code, waited = run(main())
    assert code == 4401
    assert 0.8 <= waited < 4  # DC_WS_AUTH_TIMEOUT_SECONDS=1


def test_a_token_in_the_query_string_is_ignored(server: LiveServer, deployment: Deployment) -> None:
    valid = token(deployment.user())

    async def main() -> tuple[int | None, int | None]:
        async with connect(ws_url(server, f"{DASHBOARD}?token={valid}"), proxy=None) as ws:
            silent = await closed_with(ws)  # still waits for the first message
        async with connect(ws_url(server, f"{DASHBOARD}?token={valid}"), proxy=None) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            pinged = await closed_with(ws)
        return silent, pinged

    assert run(main()) == (4401, 4401)


def test_an_api_key_authenticates_and_its_revocation_closes(
    server: LiveServer, deployment: Deployment
) -> None:
    key, key_id = deployment.api_key(deployment.user())

    async def main() -> int | None:
        ws = await open_feed(server, DASHBOARD, key, field="api_key")
        async with ws:
            await ws.send(json.dumps({"type": "ping", "id": "k"}))
            assert (await expect(ws, "pong"))["data"] == {"id": "k"}
            deployment.revoke_key(key_id)
            return await closed_with(ws, within=5)

    assert run(main()) == 4001


def test_logout_revokes_the_token_and_closes_the_socket(
    server: LiveServer, deployment: Deployment
) -> None:
    email = deployment.user()
    access = token(email)

    async def main() -> tuple[int | None, float]:
        ws = await open_feed(server, DASHBOARD, access)
        async with ws, httpx.AsyncClient(trust_env=False) as http:
            resp = await http.post(
                f"{server.url}/api/v1/auth/logout",
                headers={"Authorization": f"Bearer {access}"},
            )
            assert resp.status_code in (200, 204), resp.text
            started = time.monotonic()
            code = await closed_with(ws, within=6)
            return code, time.monotonic() - started

    code, waited = run(main())
    assert code == 4001
    assert waited < 4  # DC_WS_RECHECK_SECONDS=1


def test_an_expiring_token_closes_the_socket_at_expiry(
    server: LiveServer, deployment: Deployment
) -> None:
    email = deployment.user()
    lifetime = TOKENS.access_lifetime
    # issued so that it expires two seconds from now (verification allows 30 s leeway)
    nearly_expired = token(email, now=dt.datetime.now(dt.UTC) - lifetime + dt.timedelta(seconds=3))

    async def main() -> int | None:
        ws = await open_feed(server, DASHBOARD, nearly_expired)
        async with ws:
            return await closed_with(ws, within=8)

    assert run(main()) == 4001


def test_a_foreign_origin_is_refused_at_the_handshake(
    server: LiveServer, deployment: Deployment
) -> None:
    async def main() -> None:
        with pytest.raises(InvalidStatus) as refused:
            await dial(ws_url(server, DASHBOARD), proxy=None, origin="http://evil.example")
        assert refused.value.response.status_code == 403
        ws = await dial(ws_url(server, DASHBOARD), proxy=None, origin=ALLOWED_ORIGIN)
        async with ws:
            await ws.send(json.dumps({"type": "auth", "token": token(deployment.user())}))
            await expect(ws, "auth_ok")

    run(main())


# -- messages ----------------------------------------------------------------------------------


def test_ping_pong_and_heartbeats(server: LiveServer, deployment: Deployment) -> None:
    async def main() -> None:
        ws = await open_feed(server, LOGS, token(deployment.user()))
        async with ws:
            await ws.send(json.dumps({"type": "ping", "id": 7}))
            pong = await expect(ws, "pong")
            assert pong["data"] == {"id": 7}
            beat = json.loads(await asyncio.wait_for(ws.recv(), 3))  # every second here
            assert beat["type"] == "heartbeat"

    run(main())


def test_bad_messages_get_errors_and_the_fifth_closes_4408(
    server: LiveServer, deployment: Deployment
) -> None:
    bad = [
        "nope",
        json.dumps({"type": "subscribe", "level": "LOUD"}),
        json.dumps({"type": "auth", "token": "again"}),
        json.dumps({"type": "subscribe", "types": ["app.fatal"]}),  # no types on /ws/logs
        json.dumps({"type": "launch"}),
    ]

    async def main() -> tuple[list[dict[str, Any]], int | None]:
        ws = await open_feed(server, LOGS, token(deployment.user()))
        async with ws:
            errors = []
            for text in bad[:4]:
                await ws.send(text)
                errors.append(await expect(ws, "error"))
            await ws.send(json.dumps({"type": "ping"}))  # a good one in between is fine
            await expect(ws, "pong")
            await ws.send(bad[4])
            return errors, await closed_with(ws)

    errors, code = run(main())
    assert all(e["data"]["code"] == "INVALID_MESSAGE" for e in errors)
    assert "level" in errors[1]["data"]["message"]
    assert code == 4408


def test_a_bad_filter_in_the_url_closes_4400(server: LiveServer) -> None:
    async def main() -> int | None:
        async with connect(ws_url(server, f"{LOGS}?level=LOUD"), proxy=None) as ws:
            return await closed_with(ws)

    assert run(main()) == 4400


# -- feeds -------------------------------------------------------------------------------------


def test_a_viewer_gets_the_dashboard_feed(server: LiveServer, deployment: Deployment) -> None:
    change = Event.of(
        EventType.APP_STATUS_CHANGED,
        {"app": "scraper_company_registry", "old_status": "IDLE", "new_status": "RUNNING"},
    )

    async def main() -> list[dict[str, Any]]:
        ws = await open_feed(server, DASHBOARD, token(deployment.user(Role.VIEWER)))
        async with ws:
            await asyncio.to_thread(
                deployment.publish,
                log_event("scraper_company_registry", "ERROR"),  # not on the dashboard
                change,
                Event.of(EventType.SYSTEM_METRIC, {"cpu_percent": 12.5}),
            )
            return [await recv(ws), await recv(ws)]

    status, metric = run(main())
    assert set(status) == {"type", "timestamp", "data"}
    assert status["type"] == "app.status_changed"
    assert status["data"] == {
        "app": "scraper_company_registry",
        "old_status": "IDLE",
        "new_status": "RUNNING",
    }
    assert status["timestamp"].endswith("Z")
    assert metric["type"] == "system.metric"


def test_glob_and_level_filters_deliver_exactly_the_matching_entries(
    server: LiveServer, deployment: Deployment
) -> None:
    batch = [
        log_event("scraper_registry", "WARNING", "1 match"),
        log_event("scraper_registry", "INFO", "2 too low"),
        log_event("etl_registry", "ERROR", "3 other app"),
        log_event("scraper_gazette", 40, "4 match (numeric level)"),
        log_event("scraper_gazette", "DEBUG", "5 too low"),
        Event.of(EventType.APP_FATAL, {"app": "scraper_registry", "reason": "6 not a log"}),
        log_event("xscraper_registry", "CRITICAL", "7 glob is anchored"),
        log_event("scraper_", "CRITICAL", "8 match (empty tail)"),
        log_event("scraper_courts", "warning", "9 match (lower-case name)"),
    ]
    done = log_event("scraper_done", "CRITICAL", "end")

    async def main() -> list[str]:
        path = f"{LOGS}?app=scraper_*&level=WARNING"
        ws = await open_feed(server, path, token(deployment.user()))
        async with ws:
            await asyncio.to_thread(deployment.publish, *batch, done)
            got = []
            while True:
                frame = await recv(ws)
                assert frame["type"] == "log.entry", frame
                if frame["data"]["message"] == "end":
                    return got
                got.append(frame["data"]["message"])

    assert run(main()) == [
        "1 match",
        "4 match (numeric level)",
        "8 match (empty tail)",
        "9 match (lower-case name)",
    ]


def test_subscribe_and_unsubscribe_change_the_filter(
    server: LiveServer, deployment: Deployment
) -> None:
    async def main() -> tuple[list[str], list[str]]:
        ws = await open_feed(server, LOGS, token(deployment.user()))
        async with ws:
            await ws.send(json.dumps({"type": "subscribe", "app": "etl_?", "level": "ERROR"}))
            sub = await expect(ws, "subscribed")
            assert sub["data"] == {"types": ["log.entry"], "app": "etl_?", "level": "ERROR"}
            await asyncio.to_thread(
                deployment.publish,
                log_event("etl_a", "WARNING", "low"),
                log_event("etl_ab", "ERROR", "two chars"),
                log_event("etl_b", "ERROR", "yes"),
            )
            first = [(await expect(ws, "log.entry"))["data"]["message"]]
            await ws.send(json.dumps({"type": "unsubscribe"}))
            await expect(ws, "unsubscribed")
            await asyncio.to_thread(deployment.publish, log_event("etl_c", "ERROR", "muted"))
            await ws.send(json.dumps({"type": "ping"}))
            after = []
            while (frame := await recv(ws))["type"] != "pong":
                after.append(frame["data"].get("message", frame["type"]))
            return first, after

    first, after = run(main())
    assert first == ["yes"]
    assert after == []


def test_log_backfill_sends_the_last_matching_records_first(
    server: LiveServer, deployment: Deployment
) -> None:
    base = dt.datetime(2025, 1, 15, 7, 30)
    app = f"scraper_backfill_{uuid.uuid4().hex[:6]}"
    rows = [
        {
            "app": app,
            "level": 30 if n % 2 else 20,
            "message": f"row {n}",
            "module": "m",
            "function": "f",
            "timestamp": base + dt.timedelta(seconds=n),
        }
        for n in range(10)
    ]
    rows.append({"app": "etl_other", "level": 50, "message": "other", "timestamp": base})
    deployment.add_logs(rows)

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        ws = await open_feed(server, LOGS, token(deployment.user()))
        async with ws:
            await ws.send(
                json.dumps({"type": "subscribe", "app": app, "level": "WARNING", "backfill": 3})
            )
            await expect(ws, "subscribed")
            backfill = await expect(ws, "backfill")
            await asyncio.to_thread(deployment.publish, log_event(app, "ERROR", "live"))
            return backfill, await expect(ws, "log.entry")

    backfill, live = run(main())
    events = backfill["data"]["events"]
    assert backfill["data"]["count"] == 3
    assert [e["data"]["message"] for e in events] == ["row 5", "row 7", "row 9"]  # oldest first
    assert all(e["type"] == "log.entry" and e["data"]["level"] == "WARNING" for e in events)
    assert events[-1]["timestamp"] == "2025-01-15T07:30:09.000Z"
    assert live["data"]["message"] == "live"


# -- limits, fan-out across processes, slow clients -------------------------------------------


def test_connection_limits_per_user_and_per_ip(deployment: Deployment) -> None:
    with deployment.server(
        "limits", DC_WS_MAX_CONNECTIONS_PER_USER="2", DC_WS_MAX_CONNECTIONS_PER_IP="4"
    ) as live:
        one, other = deployment.user(), deployment.user()

        async def main() -> tuple[int | None, int | None, int | None]:
            first = await open_feed(live, DASHBOARD, token(one))
            second = await open_feed(live, DASHBOARD, token(one))
            third = await dial(ws_url(live, DASHBOARD), proxy=None)
            await third.send(json.dumps({"type": "auth", "token": token(one)}))
            per_user = await closed_with(third)
            # another user still gets in; then the address is at its limit of 4
            fourth = await open_feed(live, DASHBOARD, token(other))
            waiting = await dial(ws_url(live, DASHBOARD), proxy=None)  # counts, unauthed
            fifth = await dial(ws_url(live, DASHBOARD), proxy=None)
            per_ip = await closed_with(fifth)
            # a closed socket frees its place
            await first.close()
            await asyncio.sleep(0.3)
            again = await open_feed(live, DASHBOARD, token(one))
            await again.send(json.dumps({"type": "ping"}))
            await expect(again, "pong")
            for ws in (second, fourth, waiting, again):
                await ws.close()
            return per_user, per_ip, None

        per_user, per_ip, _ = run(main())
    assert per_user == 4429
    assert per_ip == 4429


def test_two_web_processes_each_deliver_one_event_once(deployment: Deployment) -> None:
    with deployment.server("one") as one, deployment.server("two") as two:
        viewer = deployment.user()
        marker = uuid.uuid4().hex
        event = Event.of(EventType.APP_FATAL, {"app": "scraper_x", "reason": marker})

        async def main() -> tuple[list[str], list[str]]:
            first = await open_feed(one, DASHBOARD, token(viewer))
            second = await open_feed(two, DASHBOARD, token(viewer))
            async with first, second:
                await asyncio.to_thread(deployment.publish, event)

                async def reasons(ws: ClientConnection) -> list[str]:
                    seen = []
                    try:
                        while True:
                            frame = await recv(ws, within=1.5)
                            seen.append(frame["data"].get("reason"))
                    except TimeoutError:
                        return seen

                return await asyncio.gather(reasons(first), reasons(second))

        at_one, at_two = run(main())
    assert at_one == [marker]
    assert at_two == [marker]


def small_buffer_socket(server: LiveServer) -> socket.socket:
    """A connected socket with a tiny receive buffer: the kernel cannot hide a slow reader."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    return sock


def test_a_slow_client_does_not_delay_a_fast_one(deployment: Deployment) -> None:
    """A user's view: the fast client gets every event promptly, the slow one is dropped.

    The publisher keeps at most ``AHEAD`` events ahead of the fast client (as a steady
    source would), so what is measured is the server's fan-out, not whether the test's
    own reader, sharing a loaded machine with the publisher, keeps pace with 25 MB/s.
    If the server waited for the slow client, the fast one would stall and the publisher
    with it. The slow client reads nothing until the end: 10 MB is more than every buffer
    on its way, so the server must drop frames for it (and say so).
    """
    count = 2000
    ahead = 40  # events the publisher may be ahead of the fast client (queue size 64)
    padding = "x" * 5000  # 5 KB frames, 10 MB in all: more than every buffer on the way
    with deployment.server("slowfast", DC_WS_QUEUE_SIZE="64") as live:
        viewer = deployment.user()

        async def main() -> tuple[list[int], float, list[dict[str, Any]]]:
            slow = await dial(
                ws_url(live, LOGS),
                proxy=None,
                sock=small_buffer_socket(live),
                max_queue=1,
                compression=None,
            )
            await slow.send(json.dumps({"type": "auth", "token": token(viewer)}))
            await expect(slow, "auth_ok")  # subscribed before the first event, however
            await expect(slow, "subscribed")  # loaded the machine (a sleep was not enough)
            fast = await open_feed(live, LOGS, token(viewer))

            received: list[int] = []

            async def read_fast() -> float:
                while len(received) < count:
                    frame = await recv(fast, within=10)
                    assert frame["type"] == "log.entry", frame
                    received.append(frame["data"]["n"])
                return time.monotonic()

            def publish_steadily() -> None:
                bus = RedisBus(REDIS_URL, channel=deployment.channel)
                try:
                    for start in range(0, count, 20):
                        deadline = time.monotonic() + 10
                        while len(received) < start - ahead + 20:
                            assert time.monotonic() < deadline, (
                                f"the fast client stalled at {start}"
                            )
                            time.sleep(0.001)
                        for n in range(start, start + 20):
                            bus.publish(
                                Event.of(
                                    EventType.LOG_ENTRY,
                                    {"app": "scraper_a", "level": "INFO", "n": n, "pad": padding},
                                )
                            )
                finally:
                    bus.close(timeout=10)

            started = time.monotonic()
            reader = asyncio.create_task(read_fast())
            await asyncio.to_thread(publish_steadily)
            finished = await asyncio.wait_for(reader, 10)
            elapsed = finished - started

            # the slow client finally reads: it was told what it missed
            frames = []
            async with asyncio.timeout(20):
                while True:
                    frame = json.loads(await slow.recv())
                    frames.append(frame)
                    if frame["type"] == "log.entry" and frame["data"]["n"] == count - 1:
                        break
            await fast.close()
            await slow.close()
            return received, elapsed, frames

        received, elapsed, frames = run(main())
    assert received == list(range(count))  # all of them, in order, no drop notice
    assert elapsed < 10
    kinds = [f["type"] for f in frames]
    assert "dropped" in kinds
    dropped = sum(f["data"]["count"] for f in frames if f["type"] == "dropped")
    entries = [f["data"]["n"] for f in frames if f["type"] == "log.entry"]
    assert entries == sorted(entries)  # what it got is in order
    assert dropped + len(entries) == count  # and every event is either delivered or counted


def test_an_unreachable_revocation_store_closes_1011(deployment: Deployment) -> None:
    # Authentication fails closed, as it does over HTTP (503): the revocation list and
    # the event bus are in a Redis that is not there.
    with deployment.server("noredis", DC_REDIS_URL="redis://127.0.0.1:1/0") as live:
        viewer = deployment.user()

        async def main() -> int | None:
            async with connect(ws_url(live, DASHBOARD), proxy=None) as ws:
                await ws.send(json.dumps({"type": "auth", "token": token(viewer)}))
                return await closed_with(ws)

        assert run(main()) == 1011
