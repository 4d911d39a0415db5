"""``WS /api/v1/ws/dashboard`` and ``WS /api/v1/ws/logs``: parse the URL, run a session.

The protocol, the close codes and the limits are described in :mod:`web.ws.protocol`
and ``docs/websockets.md``. Both routes are in ``web/permissions.py`` (method
``WEBSOCKET``); the session checks the role there once the ``auth`` message arrives.
"""

from __future__ import annotations

import falcon
import falcon.asgi

from web.wiring import Services
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

    def __init__(self, services: Services, hub: Hub) -> None:
        self.services = services
        self.hub = hub

    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        initial = Subscribe(type="subscribe")
        await Session(self.services, self.hub, req, ws, DASHBOARD, initial).run()


class LogsSocket:
    """``log.entry`` events; ``?app=<glob>&level=<min>&backfill=<n>`` set the first filter.

    Routed at ``/ws/logs`` and, under the spec's name, ``/logs/stream``."""

    def __init__(self, services: Services, hub: Hub) -> None:
        self.services = services
        self.hub = hub

    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        params = {name: req.get_param(name) for name in LOG_QUERY if req.has_param(name)}
        problem = None
        try:
            initial = parse_query(params)
        except BadMessage as exc:
            initial, problem = Subscribe(type="subscribe"), str(exc)
        await Session(self.services, self.hub, req, ws, LOGS, initial, problem).run()
