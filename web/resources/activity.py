"""``/api/v1/activity``: the audit feed (admins) and the dashboard's figures."""

from __future__ import annotations

import falcon.asgi

from control.audit import queries
from control.auth.roles import Role
from control.db.models import naive_utc
from web import envelope
from web.concurrency import run_db
from web.cursor import CursorCodec
from web.openapi import operation
from web.schemas.activity import (
    ActivityListResponse,
    ActivityQuery,
    StatsQuery,
    StatsResponse,
)
from web.wiring import Services

TAGS = ("activity",)


class ActivityResource:
    """Who did what, newest first; filter by actor, action, outcome and time."""

    def __init__(self, services: Services) -> None:
        self.codec = CursorCodec(services.settings.jwt_secret.get_secret_value().encode())

    @operation(
        "Activity feed",
        tags=TAGS,
        query=ActivityQuery,
        response=ActivityListResponse,
        errors=(400, 401, 403),
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Audited writes, denied requests and authentication events, newest first.

        ``action`` is exact, or a prefix with a trailing ``*`` (``apps.*``); ``from`` is
        inclusive and ``to`` exclusive.
        """
        q = req.context.query
        scope = req.uri_template
        after = self.codec.decode(scope, q.cursor) if q.cursor else None
        activity_filter = queries.ActivityFilter(
            actor=q.actor,
            action=q.action,
            outcome=q.outcome,
            since=naive_utc(getattr(q, "from")),
            until=naive_utc(q.to),
        )
        items, key = await run_db(queries.list_activity, activity_filter, after, q.limit)
        next_cursor = self.codec.encode(scope, key) if key else None
        resp.media = envelope.cursor_page(items, next_cursor, q.limit)


class ActivityStatsResource:
    """Counts for the dashboard."""

    @operation("Activity and fleet figures", tags=TAGS, query=StatsQuery, response=StatsResponse)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Audit counts by action and outcome, failed logins and the most active actors
        over the period, with the fleet's apps by status and its runtimes."""
        q: StatsQuery = req.context.query
        stats = await run_db(queries.stats, q.period)
        if req.context.principal.role != Role.ADMIN:
            # who is active is the admins' business, like the feed itself
            stats["activity"]["top_actors"] = None
        resp.media = envelope.single(stats)
