"""``/api/v1/system/health``: public quick health (status only)."""

from __future__ import annotations

import asyncio

import falcon.asgi

from control.system import health
from web import envelope
from web.openapi import operation
from web.schemas.system import HealthResponse


class HealthResource:
    """Quick health for load balancers: the status word, nothing else."""

    @operation("Health check", tags=["system"], response=HealthResponse, public=True)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """``healthy`` when the database answers, else ``unhealthy`` with 503."""
        report = await asyncio.to_thread(health.check_database)
        resp.media = envelope.single({"status": "healthy" if report.up else "unhealthy"})
        if not report.up:
            resp.status = falcon.HTTP_503
