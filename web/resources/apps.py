"""``/api/v1/apps``: the fleet's apps."""

from __future__ import annotations

import falcon.asgi

from control.apps import services
from control.querying import parse_sort
from web import envelope
from web.concurrency import run_db
from web.openapi import operation
from web.schemas.apps import AppDetailResponse, AppListQuery, AppListResponse


class AppsResource:
    """The app list and one app's detail."""

    @operation(
        "List apps",
        tags=["apps"],
        query=AppListQuery,
        response=AppListResponse,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Filter by group, parent, status, flags or text; sort by any listed field."""
        q: AppListQuery = req.context.query
        sort = parse_sort(q.sort, list(services.SORTABLE))
        app_filter = services.AppFilter(
            group=q.group,
            parent=q.parent,
            run_status=q.run_status,
            fatal_flag=q.fatal_flag,
            disabled=q.disabled,
            is_service=q.is_service,
            q=q.q,
        )
        page = await run_db(services.list_apps, app_filter, sort, q.page, q.per_page)
        resp.media = envelope.offset_page(page, page.rows)

    @operation("Get an app", tags=["apps"], response=AppDetailResponse, errors=(404,))
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str
    ) -> None:
        """The app's configuration, flags, live progress and last runtime."""
        resp.media = envelope.single(await run_db(services.get_app, app_id))
