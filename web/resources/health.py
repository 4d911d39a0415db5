"""``/api/v1/system/health``: quick health for anyone, details for authenticated callers."""

from __future__ import annotations

import asyncio

import falcon
import falcon.asgi

from control.errors import Unauthenticated
from control.kv import KeyValueStore
from control.system import health
from web import envelope
from web.openapi import operation
from web.permissions import PUBLIC
from web.schemas.system import HealthQuery, HealthResponse
from web.wiring import LiveSettings


class HealthResource:
    """``healthy``/``unhealthy`` (503 when a required part is down)."""

    def __init__(self, live: LiveSettings, store: KeyValueStore, started: float) -> None:
        self.live = live
        self.store = store
        self.started = started

    @operation(
        "Health check",
        tags=["system"],
        query=HealthQuery,
        response=HealthResponse,
        errors=(401, 503),
        roles=PUBLIC,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Anonymous: ``{"status"}`` only. Authenticated (or ``?detailed=true`` with
        credentials): version, uptime, database/Redis/RabbitMQ latency and disk use."""
        principal = req.context.principal
        if req.context.query.detailed and principal is None:
            raise Unauthenticated("Authentication required for the detailed health.")
        if principal is None:
            report = await asyncio.to_thread(health.check_database)
            body = {"status": "healthy" if report.up else "unhealthy"}
        else:
            conf = self.live.settings
            body = await asyncio.to_thread(
                health.detailed_report, self.store, conf.redis_url, conf.rabbitmq_url, self.started
            )
        resp.media = envelope.single(body)
        if body["status"] == "unhealthy":
            resp.status = falcon.HTTP_503
