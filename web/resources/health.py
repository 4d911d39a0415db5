"""``/api/v1/system/health``: quick health for anyone, details for authenticated callers."""

from __future__ import annotations

import asyncio

import falcon
import falcon.asgi

from control.errors import Unauthenticated
from control.system import health
from web import envelope
from web.openapi import operation
from web.schemas.system import HealthQuery, HealthResponse
from web.wiring import Services


class HealthResource:
    """``healthy``/``unhealthy`` (503 when a required part is down)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @operation(
        "Health check",
        tags=["system"],
        query=HealthQuery,
        response=HealthResponse,
        public=True,
        errors=(401, 503),
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
            conf = self.services.settings
            body = await asyncio.to_thread(
                health.detailed_report,
                self.services.store,
                conf.redis_url,
                conf.rabbitmq_url,
                self.services.started,
            )
        resp.media = envelope.single(body)
        if body["status"] == "unhealthy":
            resp.status = falcon.HTTP_503
