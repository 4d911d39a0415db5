"""``/api/v1/jobs/dead``: background messages that failed for good (admins)."""

from __future__ import annotations

import falcon
import falcon.asgi

from control.jobs import services as jobs
from web import envelope
from web.concurrency import run_db
from web.openapi import operation
from web.resources.notifications import row_id
from web.schemas.jobs import DeadJobListResponse, DeadJobQuery, DeadJobResponse
from workers.dead_letters import requeue

TAGS = ("jobs",)


class DeadJobsResource:
    """Messages whose retries ran out (or that failed for a reason retries can't fix)."""

    @operation(
        "List dead jobs",
        tags=TAGS,
        query=DeadJobQuery,
        response=DeadJobListResponse,
        errors=(401, 403),
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Newest first: queue, actor, message id, redacted arguments, the last error."""
        q: DeadJobQuery = req.context.query
        page = await run_db(jobs.list_dead, q.page, q.per_page, q.requeued)
        resp.media = envelope.offset_page(page, page.rows)

    @operation(
        "Re-queue a dead job",
        tags=TAGS,
        response=DeadJobResponse,
        status=202,
        errors=(401, 403, 404, 409, 503),
    )
    async def on_post_requeue(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: str
    ) -> None:
        """Enqueue the original message again, with a fresh retry count; once per dead
        job (409 after). If it fails again it becomes a new dead job."""
        data = await run_db(requeue, row_id(job_id, "dead job"))
        resp.status = falcon.HTTP_202
        resp.media = envelope.single(data)
