"""``/api/v1/apps/{app_id}/health`` and ``/api/v1/health/fleet``: each app judged against
its own history (``control/health``, docs/health.md). Both READ."""

from __future__ import annotations

import falcon.asgi

from control.health import services
from web import envelope
from web.concurrency import run_db
from web.openapi import operation
from web.permissions import READ
from web.schemas.app_health import AppHealthResponse, FleetHealthResponse

TAGS = ("health",)


class AppHealthResource:
    """One app's baseline, current verdicts and their history."""

    @operation(
        "Get an app's health", tags=TAGS, response=AppHealthResponse, errors=(404,), roles=READ
    )
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str
    ) -> None:
        """The baseline of its last completed runs (duration p50/p95, records p50, the
        last run as judged), the thresholds in force, the verdicts holding now with their
        evidence, and the latest verdicts raised and cleared."""
        resp.media = envelope.single(await run_db(services.app_health, app_id))


class FleetHealthResource:
    """The fleet's verdicts."""

    @operation("Fleet health", tags=TAGS, response=FleetHealthResponse, roles=READ)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Per verdict, how many apps hold it now and which."""
        resp.media = envelope.single(await run_db(services.fleet))
