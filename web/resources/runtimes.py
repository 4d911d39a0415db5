"""``/api/v1/runtimes``: the runs of the fleet's apps."""

from __future__ import annotations

import falcon.asgi

from control.runtimes import services
from web import envelope
from web.concurrency import run_db
from web.openapi import operation
from web.schemas.runtimes import RuntimeDetailResponse, RuntimeListQuery, RuntimeListResponse
from web.wiring import Services

TAGS = ("runtimes",)


class RuntimesResource:
    """The runtime list and one run's detail."""

    def __init__(self, services: Services) -> None:
        self.cursors = services.cursors

    @operation(
        "List runtimes",
        tags=TAGS,
        query=RuntimeListQuery,
        response=RuntimeListResponse,
        errors=(400,),
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Runs newest first (by start), in cursor pages.

        ``app`` is an exact id or a glob (``scraper_*``; ``*`` any characters, ``?`` one);
        ``from`` is inclusive and ``to`` exclusive, both on the start time.
        """
        q: RuntimeListQuery = req.context.query
        scope = req.uri_template
        after = self.cursors.decode(scope, q.cursor) if q.cursor else None
        runtime_filter = services.RuntimeFilter(
            app=q.app,
            status=q.status,
            since=q.since,
            until=q.until,
        )
        items, key = await run_db(services.list_runtimes, runtime_filter, after, q.limit)
        next_cursor = self.cursors.encode(scope, key) if key else None
        resp.media = envelope.cursor_page(items, next_cursor, q.limit)

    @operation("Get a runtime", tags=TAGS, response=RuntimeDetailResponse, errors=(404,))
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, runtime_id: str
    ) -> None:
        """Status, duration, record counts, error and host, and a summary per function
        of the run's timed calls (calls, total/average/longest seconds, items)."""
        resp.media = envelope.single(await run_db(services.get_runtime, runtime_id))
