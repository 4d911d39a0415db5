"""``/api/v1/apps``: the fleet's apps."""

from __future__ import annotations

import falcon.asgi

from control.apps import services
from control.commands import services as commands
from control.querying import parse_sort
from web import envelope
from web.concurrency import run_db
from web.errors import ApiError, detail
from web.openapi import operation
from web.schemas.apps import (
    AppDetailResponse,
    AppListQuery,
    AppListResponse,
    AppPatch,
    GroupsResponse,
)


def etag(version: int) -> str:
    """The app's ETag: its configuration version, weak (the JSON may vary in form)."""
    return f'W/"{version}"'


def expected_version(req: falcon.asgi.Request) -> int | None:
    """The version ``If-Match`` names; None for ``*``. 428 when absent."""
    raw = (req.get_header("If-Match") or "").strip()
    if not raw:
        raise ApiError(
            428,
            "Send If-Match with the ETag of the app you read, so a concurrent change "
            "is not overwritten.",
            details=[detail("If-Match", "required")],
        )
    if raw == "*":
        return None
    tags = [tag.strip() for tag in raw.split(",") if tag.strip()]
    if len(tags) != 1:
        raise ApiError(400, "If-Match must hold one ETag.", details=[detail("If-Match", raw)])
    value = tags[0].removeprefix("W/").strip('"')
    return int(value) if value.isdigit() else -1  # -1 never matches: 412


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
        """The app's configuration, flags, live progress with ETA, and last runtime.

        The ETag header carries the configuration version for ``If-Match`` on PATCH."""
        data = await run_db(services.get_app, app_id)
        resp.set_header("ETag", etag(data["version"]))
        resp.media = envelope.single(data)

    @operation(
        "Update an app's configuration",
        tags=["apps"],
        body=AppPatch,
        response=AppDetailResponse,
        errors=(404, 412, 428),
    )
    async def on_patch_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str
    ) -> None:
        """Change settings, schedule (cron, read in the app's time zone), timezone,
        disabled or next_run. Requires ``If-Match: <ETag from GET>``: 428 without it, 412
        when the app changed since. Answers the new detail and ETag."""
        version = expected_version(req)
        body: AppPatch = req.context.body
        req.context.audit_action = "apps.update"
        data = await run_db(commands.update_app, app_id, body.changes(), version)
        resp.set_header("ETag", etag(data["version"]))
        resp.media = envelope.single(data)


class GroupsResource:
    """The app groups, for navigation and fleet overviews."""

    @operation("List app groups", tags=["apps"], response=GroupsResponse)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Every group with its number of apps, and of running, fatal and disabled ones."""
        resp.media = {"data": await run_db(services.group_counts)}
