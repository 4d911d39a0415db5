"""``/api/v1/performance/functions``: timed function calls and the figures about them."""

from __future__ import annotations

import falcon.asgi

from control.performance import services
from web import envelope
from web.concurrency import run_db
from web.cursor import CursorCodec
from web.openapi import operation
from web.permissions import READ
from web.routing import uri_template
from web.schemas.performance import (
    AppHistoryResponse,
    FunctionLogListResponse,
    FunctionLogQuery,
    HistoryQuery,
    SlowestQuery,
    SlowestResponse,
    TrendsQuery,
    TrendsResponse,
)

TAGS = ("performance",)


class FunctionLogsResource:
    """The function logs, newest first, and one app's history."""

    def __init__(self, cursors: CursorCodec) -> None:
        self.cursors = cursors

    @operation(
        "List function logs",
        tags=TAGS,
        query=FunctionLogQuery,
        response=FunctionLogListResponse,
        errors=(400,),
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Timed calls, newest first; filter by app, function and time (``from``
        inclusive, ``to`` exclusive)."""
        q: FunctionLogQuery = req.context.query
        scope = uri_template(req)
        after = self.cursors.decode(scope, q.cursor) if q.cursor else None
        log_filter = services.LogFilter(
            app=q.app, function_name=q.function_name, since=q.since, until=q.until
        )
        items, key = await run_db(services.list_logs, log_filter, after, q.limit)
        next_cursor = self.cursors.encode(scope, key) if key else None
        resp.media = envelope.cursor_page(items, next_cursor, q.limit)

    @operation(
        "Function performance of an app",
        tags=TAGS,
        query=HistoryQuery,
        response=AppHistoryResponse,
        errors=(400, 404),
        roles=READ,
    )
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str
    ) -> None:
        """Per function of the app over the window: totals, and calls, task size,
        solved, failed and runtimes per hour or day bucket."""
        q: HistoryQuery = req.context.query
        since, until = services.bucket_window(q.bucket, q.since, q.until)
        resp.media = envelope.single(
            await run_db(services.history, app_id, q.bucket, since, until, q.function_name)
        )


class SlowestFunctionsResource:
    """The slowest functions across the fleet."""

    @operation(
        "Slowest functions",
        tags=TAGS,
        query=SlowestQuery,
        response=SlowestResponse,
        errors=(400,),
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The ``n`` (function, app) pairs with the highest average runtime over the
        period, or ``from``/``to``, or all time."""
        q: SlowestQuery = req.context.query
        since, until = services.resolve_window(q.period, q.since, q.until)
        items = await run_db(services.slowest, q.n, since, until)
        resp.media = {"data": items, "meta": {"n": q.n, "since": since, "until": until}}


class FunctionTrendsResource:
    """Per function and time bucket."""

    @operation(
        "Function trends",
        tags=TAGS,
        query=TrendsQuery,
        response=TrendsResponse,
        errors=(400,),
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Per function name and hour or day: calls, summed task size, solved, failed,
        mean and longest runtime; optionally for one app or function."""
        q: TrendsQuery = req.context.query
        since, until = services.bucket_window(q.bucket, q.since, q.until)
        items = await run_db(
            services.trends, q.bucket, since, until, app=q.app, function_name=q.function_name
        )
        resp.media = {"data": items, "meta": {"bucket": q.bucket, "since": since, "until": until}}
