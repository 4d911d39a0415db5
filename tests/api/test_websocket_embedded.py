"""The embedded default: the in-process event bus reaches WebSocket clients of the app.

Falcon's ASGI conductor runs the app's lifespan (the hub subscribes to the bus and
installs it as the process's bus) and simulates the sockets; ``publish`` is called from
a worker thread, as an in-process agent or Dramatiq worker would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import falcon.testing
import pytest

from control.auth.roles import Role
from control.events import EventType, publish
from control.events.memory import MemoryBus


def test_publish_from_a_thread_reaches_a_dashboard_socket(app, services, make_user, token_for):
    assert isinstance(services.bus, MemoryBus)
    token = token_for(make_user(Role.VIEWER))

    async def main() -> tuple[list[str], dict, int | None]:
        async with (
            falcon.testing.ASGIConductor(app) as conductor,
            conductor.simulate_ws("/api/v1/ws/dashboard") as ws,
        ):
            await ws.send_text(json.dumps({"type": "auth", "token": token}))
            first = [json.loads(await ws.receive_text())["type"] for _ in range(2)]
            await asyncio.to_thread(
                publish,
                EventType.APP_STATUS_CHANGED,
                {"app": "scraper_a", "old_status": "IDLE", "new_status": "RUNNING"},
            )
            event = json.loads(await asyncio.wait_for(ws.receive_text(), 5))
            await ws.send_text("not json")
            error = json.loads(await ws.receive_text())
            assert error["type"] == "error"
        return first, event, ws.close_code

    first, event, _ = asyncio.run(main())
    assert first == ["auth_ok", "subscribed"]
    assert event["type"] == "app.status_changed"
    assert event["data"]["new_status"] == "RUNNING"


def test_no_auth_message_closes_with_4401(app):
    async def main() -> int | None:
        async with (
            falcon.testing.ASGIConductor(app) as conductor,
            conductor.simulate_ws("/api/v1/ws/logs") as ws,
        ):
            await ws.send_text(json.dumps({"type": "ping"}))
            with pytest.raises(falcon.WebSocketDisconnected):
                await asyncio.wait_for(ws.receive_text(), 5)
            return ws.close_code

    assert asyncio.run(main()) == 4401


def test_the_specs_logs_stream_path_is_the_live_log_feed(app, make_user, token_for):
    token = token_for(make_user(Role.VIEWER))

    async def main() -> tuple[list[dict], dict]:
        async with (
            falcon.testing.ASGIConductor(app) as conductor,
            conductor.simulate_ws(
                "/api/v1/logs/stream", query_string="app=scraper_*&level=WARNING"
            ) as ws,
        ):
            await ws.send_text(json.dumps({"type": "auth", "token": token}))
            first = [json.loads(await ws.receive_text()) for _ in range(2)]
            for app_id, level in (
                ("etl_x", "ERROR"),
                ("scraper_a", "INFO"),
                ("scraper_b", "ERROR"),
            ):
                await asyncio.to_thread(
                    publish,
                    EventType.LOG_ENTRY,
                    {
                        "app": app_id,
                        "level": level,
                        "level_no": 40 if level == "ERROR" else 20,
                        "message": f"{app_id} {level}",
                    },
                )
            event = json.loads(await asyncio.wait_for(ws.receive_text(), 5))
        return first, event

    first, event = asyncio.run(main())
    assert [m["type"] for m in first] == ["auth_ok", "subscribed"]
    assert event["data"]["app"] == "scraper_b"  # the filters of the query string applied


def _limited_app(db, **limits):
    from control.kv.memory import MemoryStore
    from control.settings import load_settings
    from web.app import create_app
    from web.wiring import build_services

    settings = load_settings(environment="test", rate_limit_per_minute=100_000, **limits)
    services = build_services(settings, store=MemoryStore())
    return create_app(settings, bind_database=False, services=services)


def test_a_ping_flood_is_cut_off_with_4430(db, make_user, token_for):
    app = _limited_app(db, ws_messages_per_second=0.01, ws_message_burst=10)
    token = token_for(make_user(Role.VIEWER))

    async def main() -> tuple[list[dict], int, int | None]:
        async with (
            falcon.testing.ASGIConductor(app) as conductor,
            conductor.simulate_ws("/api/v1/ws/dashboard") as ws,
        ):
            await ws.send_text(json.dumps({"type": "auth", "token": token}))
            await ws.receive_text(), await ws.receive_text()  # auth_ok, subscribed
            answers = []
            for n in range(11):
                await ws.send_text(json.dumps({"type": "ping", "id": n}))
                answers.append(json.loads(await asyncio.wait_for(ws.receive_text(), 5)))
            sent = 11
            with contextlib.suppress(falcon.WebSocketDisconnected):  # closed: no more
                for n in range(20_000):
                    await ws.send_text(json.dumps({"type": "ping", "id": n}))
                    sent += 1
                    await asyncio.sleep(0)
            return answers, sent, ws.close_code

    answers, sent, code = asyncio.run(main())
    assert [a["type"] for a in answers] == ["pong"] * 10 + ["error"]
    assert [a["data"]["id"] for a in answers[:10]] == list(range(10))
    assert answers[10]["data"]["code"] == "RATE_LIMITED"
    assert code == 4430
    assert sent < 1000  # the server hung up long before the flood ended


def test_backfill_is_budgeted_per_socket_per_minute(db, make_user, token_for):
    from tests.factories import make_app, make_log

    app = _limited_app(db, ws_backfill_per_minute=12)
    source = make_app()
    for n in range(20):
        make_log(source, message=f"line {n}")
    token = token_for(make_user(Role.VIEWER))

    async def main() -> list[list[dict]]:
        async with (
            falcon.testing.ASGIConductor(app) as conductor,
            conductor.simulate_ws("/api/v1/ws/logs") as ws,
        ):
            await ws.send_text(json.dumps({"type": "auth", "token": token}))
            await ws.receive_text(), await ws.receive_text()  # auth_ok, subscribed
            answers = []
            for expected in (2, 3, 2):  # subscribed + backfill (+ an error frame)
                await ws.send_text(json.dumps({"type": "subscribe", "backfill": 8}))
                answers.append(
                    [
                        json.loads(await asyncio.wait_for(ws.receive_text(), 5))
                        for _ in range(expected)
                    ]
                )
            return answers

    first, second, third = asyncio.run(main())
    assert [f["type"] for f in first] == ["subscribed", "backfill"]
    assert first[1]["data"]["count"] == 8
    assert [f["type"] for f in second] == ["subscribed", "backfill", "error"]
    assert second[1]["data"]["count"] == 4  # what was left of 12
    assert second[2]["data"]["code"] == "BACKFILL_LIMITED"
    assert [f["type"] for f in third] == ["subscribed", "error"]
    assert third[1]["data"]["code"] == "BACKFILL_LIMITED"
