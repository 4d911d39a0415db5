"""``/api/v1/apps``: the fleet's apps."""

from __future__ import annotations

import re

import falcon.asgi

from control.agents import services as agents
from control.apps import configuration, services
from control.auth.roles import Role
from control.querying import parse_sort
from control.settings import Settings
from web import envelope
from web.concurrency import run_db
from web.cursor import CursorCodec
from web.errors import ApiError, detail
from web.openapi import operation
from web.permissions import ADMIN, READ
from web.routing import uri_template
from web.schemas.apps import (
    AppDetailResponse,
    AppListQuery,
    AppListResponse,
    AppPatch,
    GroupsResponse,
)
from web.validation import filters
from web.wiring import LiveSettings


def etag(version: int) -> str:
    """The app's ETag: its configuration version, weak (the JSON may vary in form)."""
    return f'W/"{version}"'


# RFC 9110 entity-tag: optional W/, then a quoted run of etagc (no space, no quote)
ENTITY_TAG = re.compile(r'(?:W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
IF_MATCH_FORM = 'must be * or the one ETag GET answered, e.g. W/"3"'


def expected_version(req: falcon.asgi.Request) -> int | None:
    """The version ``If-Match`` names; None for ``*``. 428 when absent, 400 when it is
    not an entity-tag; a well-formed tag that is not a version never matches (412)."""
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
    tag = ENTITY_TAG.fullmatch(raw)
    if tag is None:
        raise ApiError(
            400, "If-Match must hold one ETag.", details=[detail("If-Match", IF_MATCH_FORM)]
        )
    value = tag.group(1)
    # ASCII digits only: int() would read '²' or '٣' too, or fail on them
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else -1


def _is_admin(req: falcon.asgi.Request) -> bool:
    # secrets stored in an app's settings are shown to admins only (docs/api.md)
    return bool(req.context.principal.role is Role.ADMIN)


class AppsResource:
    """The app list and one app's detail."""

    def __init__(self, cursors: CursorCodec, live: LiveSettings | None = None) -> None:
        self.cursors = cursors
        self.live = live

    def offline_after(self) -> float:
        """Seconds without a heartbeat after which an agent is offline (current setting)."""
        if self.live is None:
            return float(Settings.model_fields["agent_offline_after_seconds"].default)
        return self.live.settings.agent_offline_after_seconds

    @operation(
        "List apps",
        tags=["apps"],
        query=AppListQuery,
        response=AppListResponse,
        errors=(400,),
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Filter by group, parent, status, flags or text; sort by any listed field.

        Pages by ``page`` (offset) or by ``cursor``: pass ``meta.next_cursor`` (null on
        the last page) with the same filters for the next page, as fast deep in the list
        as at its start. The cursor carries the page number (``meta.page`` of the page it
        leads to) and the sort: with it, ``page`` and ``sort`` are ignored."""
        q: AppListQuery = req.context.query
        scope = uri_template(req)
        page_no, sort_text, after = q.page, q.sort or "", None
        if q.cursor:
            page_no, sort_text, *after = self.cursors.decode(scope, q.cursor)
        sort = parse_sort(sort_text, list(services.SORTABLE))
        app_filter = filters(services.AppFilter, q)
        page = await run_db(services.list_apps, app_filter, sort, page_no, q.per_page, after)
        next_cursor = None
        if page.next_key is not None:
            next_cursor = self.cursors.encode(scope, (page_no + 1, sort_text, *page.next_key))
        resp.media = envelope.offset_page(page, page.rows, next_cursor=next_cursor)

    @operation("Get an app", tags=["apps"], response=AppDetailResponse, errors=(404,), roles=READ)
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str
    ) -> None:
        """The app's configuration, flags, live progress with ETA, and last runtime.
        Secret-looking keys of ``settings`` read ``[redacted]`` for every role but admin.

        ``agent`` names the agent running it or holding it until a slot frees
        (``waiting_for_slot``: why it is still SCHEDULED), from the agents' heartbeats.

        The ETag header carries the configuration version for ``If-Match`` on PATCH."""
        data = await run_db(services.get_app, app_id, reveal_secrets=_is_admin(req))
        data["agent"] = await run_db(agents.hosting, app_id, self.offline_after())
        resp.set_header("ETag", etag(data["version"]))
        resp.media = envelope.single(data)

    @operation(
        "Update an app's configuration",
        tags=["apps"],
        body=AppPatch,
        response=AppDetailResponse,
        errors=(400, 404, 412, 428),
        roles=ADMIN,
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
        data = await run_db(
            configuration.update_app, app_id, body.changes(), version, reveal_secrets=_is_admin(req)
        )
        resp.set_header("ETag", etag(data["version"]))
        resp.media = envelope.single(data)


class GroupsResource:
    """The app groups, for navigation and fleet overviews."""

    @operation("List app groups", tags=["apps"], response=GroupsResponse, roles=READ)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Every group with its number of apps, and of running, fatal and disabled ones."""
        resp.media = {"data": await run_db(services.group_counts)}
