"""``WS /api/v1/ws/dashboard`` and ``WS /api/v1/ws/logs``: parse the URL, run a session.

The protocol, the close codes and the limits are described in :mod:`web.ws.protocol`
and ``docs/websockets.md``. Each responder declares its roles (``@allow``); the session
checks them once the ``auth`` message arrives.
"""

from __future__ import annotations

import falcon
import falcon.asgi

from control.auth.credentials import CredentialVerifier
from web.permissions import READ, allow, roles_of
from web.wiring import LiveSettings
from web.ws.filters import DASHBOARD_TYPES, LOG_TYPES
from web.ws.hub import Hub
from web.ws.protocol import BadMessage, Subscribe, parse_query
from web.ws.session import Feed, Session

API = "/api/v1"
DASHBOARD = Feed(f"{API}/ws/dashboard", DASHBOARD_TYPES, choose_types=True)
LOGS = Feed(f"{API}/ws/logs", LOG_TYPES, choose_types=False)
LOG_QUERY = ("app", "level", "backfill")  # anything else in the URL is ignored


class DashboardSocket:
    """Every event type but ``log.entry`` until the client subscribes otherwise."""

    def __init__(self, live: LiveSettings, credentials: CredentialVerifier, hub: Hub) -> None:
        self.live = live
        self.credentials = credentials
        self.hub = hub

    @allow(READ)
    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        initial = Subscribe(type="subscribe")
        roles = roles_of(self.on_websocket)
        session = Session(
            self.live, self.credentials, self.hub, req, ws, DASHBOARD, initial, roles=roles
        )
        await session.run()


class LogsSocket:
    """``log.entry`` events; ``?app=<glob>&level=<min>&backfill=<n>`` set the first filter.

    Routed at ``/ws/logs`` and, under the spec's name, ``/logs/stream``."""

    def __init__(self, live: LiveSettings, credentials: CredentialVerifier, hub: Hub) -> None:
        self.live = live
        self.credentials = credentials
        self.hub = hub

    @allow(READ)
    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        params = {name: req.get_param(name) for name in LOG_QUERY if req.has_param(name)}
        problem = None
        try:
            initial = parse_query(params)
        except BadMessage as exc:
            initial, problem = Subscribe(type="subscribe"), str(exc)
        roles = roles_of(self.on_websocket)
        session = Session(
            self.live, self.credentials, self.hub, req, ws, LOGS, initial, problem, roles=roles
        )
        await session.run()
