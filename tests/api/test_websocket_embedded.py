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
