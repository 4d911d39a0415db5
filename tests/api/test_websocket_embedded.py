"""The embedded default: the in-process event bus reaches WebSocket clients of the app.

Falcon's ASGI conductor runs the app's lifespan (the hub subscribes to the bus and
installs it as the process's bus) and simulates the sockets; ``publish`` is called from
a worker thread, as an in-process agent or Dramatiq worker would.
"""

from __future__ import annotations

import asyncio
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
