"""``/api/v1/activity``: the audit feed (admins) and the dashboard's figures."""

from __future__ import annotations

import falcon.asgi

from control.audit import queries
from control.auth.roles import Role
from web import envelope
from web.concurrency import run_db
from web.cursor import CursorCodec
from web.openapi import operation
from web.permissions import ADMIN, READ
from web.routing import uri_template
from web.schemas.activity import (
    ActivityListResponse,
    ActivityQuery,
    StatsQuery,
    StatsResponse,
)

TAGS = ("activity",)


class ActivityResource:
    """Who did what, newest first; filter by actor, action, outcome and time."""

    def __init__(self, cursors: CursorCodec) -> None:
        self.codec = cursors

    @operation(
        "Activity feed",
        tags=TAGS,
        query=ActivityQuery,
        response=ActivityListResponse,
        errors=(400, 401, 403),
        roles=ADMIN,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Audited writes, denied requests and authentication events, newest first.

        ``action`` is exact, or a prefix with a trailing ``*`` (``apps.*``); ``from`` is
        inclusive and ``to`` exclusive.
        """
        q = req.context.query
        scope = uri_template(req)
        after = self.codec.decode(scope, q.cursor) if q.cursor else None
        activity_filter = queries.ActivityFilter(
            actor=q.actor,
            action=q.action,
            outcome=q.outcome,
            since=getattr(q, "from"),
            until=q.to,
        )
        items, key = await run_db(queries.list_activity, activity_filter, after, q.limit)
        next_cursor = self.codec.encode(scope, key) if key else None
        resp.media = envelope.cursor_page(items, next_cursor, q.limit)


class ActivityStatsResource:
    """Counts for the dashboard."""

    @operation(
        "Activity and fleet figures",
        tags=TAGS,
        query=StatsQuery,
        response=StatsResponse,
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Audit counts by action and outcome, failed logins and the most active actors
        over the period, with the fleet's apps by status and its runtimes."""
        q: StatsQuery = req.context.query
        stats = await run_db(queries.stats, q.period)
        if req.context.principal.role != Role.ADMIN:
            # who is active is the admins' business, like the feed itself
            stats["activity"]["top_actors"] = None
        resp.media = envelope.single(stats)
