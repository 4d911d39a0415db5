"""``/api/v1/runtimes``: the runs of the fleet's apps."""

from __future__ import annotations

import falcon
import falcon.asgi

from control.runtimes import notes, recent, services
from web import envelope
from web.audit_context import audit_context
from web.concurrency import run_db
from web.cursor import CursorCodec
from web.openapi import operation
from web.permissions import COMMAND, READ
from web.routing import uri_template
from web.schemas.runtimes import (
    RecentRunsQuery,
    RecentRunsResponse,
    RunNoteCreate,
    RunNoteResponse,
    RuntimeDetailResponse,
    RuntimeListQuery,
    RuntimeListResponse,
)

TAGS = ("runtimes",)


class RuntimesResource:
    """The runtime list, one run's detail and the notes on a run."""

    def __init__(self, cursors: CursorCodec) -> None:
        self.cursors = cursors

    @operation(
        "List runtimes",
        tags=TAGS,
        query=RuntimeListQuery,
        response=RuntimeListResponse,
        errors=(400,),
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Runs newest first (by start), in cursor pages.

        ``app`` is an exact id or a glob (``scraper_*``; ``*`` any characters, ``?`` one);
        ``from`` is inclusive and ``to`` exclusive, both on the start time.
        """
        q: RuntimeListQuery = req.context.query
        scope = uri_template(req)
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

    @operation(
        "Get a runtime", tags=TAGS, response=RuntimeDetailResponse, errors=(404,), roles=READ
    )
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, runtime_id: str
    ) -> None:
        """Status, duration, record counts, error and host, the operators' notes on the
        run, and a summary per function of the run's timed calls (calls,
        total/average/longest seconds, items)."""
        resp.media = envelope.single(await run_db(services.get_runtime, runtime_id))

    @operation(
        "Add a note to a run",
        tags=TAGS,
        body=RunNoteCreate,
        response=RunNoteResponse,
        status=201,
        errors=(404,),
        roles=COMMAND,
    )
    async def on_post_notes(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, runtime_id: str
    ) -> None:
        """An operator's note on the run (``"upstream site down"``), at most 2000
        characters: shown in the run's detail (``notes``) and in the audit feed
        (``runtimes.note``, with the text). 404 for an unknown run."""
        body: RunNoteCreate = req.context.body
        req.context.audit_action = notes.AUDIT_ACTION  # a refusal's row too
        data = await run_db(notes.add_note, runtime_id, body.text, audit_context(req, status=201))
        resp.status = falcon.HTTP_201
        resp.media = envelope.single(data)

    @operation(
        "Recent runs of several apps",
        tags=TAGS,
        query=RecentRunsQuery,
        response=RecentRunsResponse,
        roles=READ,
    )
    async def on_get_recent(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The last ``per_app`` runs (default 10) of each app in ``app_ids`` (at most 100),
        newest first, in one query: the dashboard's run strip for a page of apps."""
        q: RecentRunsQuery = req.context.query
        resp.media = {"data": await run_db(recent.recent_runs, q.ids(), q.per_app)}
