"""``/api/v1/jobs/dead``: background messages that failed for good (admins)."""

from __future__ import annotations

import falcon
import falcon.asgi

from control.jobs import services as jobs
from control.jobs.requeue import requeue
from control.tasks.interface import TaskQueue
from web import envelope
from web.concurrency import run_db, run_send_db
from web.openapi import operation
from web.permissions import ADMIN
from web.schemas.jobs import DeadJobListResponse, DeadJobQuery, DeadJobResponse

TAGS = ("jobs",)


class DeadJobsResource:
    """Messages whose retries ran out (or that failed for a reason retries can't fix)."""

    def __init__(self, tasks: TaskQueue) -> None:
        self._tasks = tasks

    @operation(
        "List dead jobs",
        tags=TAGS,
        query=DeadJobQuery,
        response=DeadJobListResponse,
        errors=(401, 403),
        roles=ADMIN,
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
        roles=ADMIN,
    )
    async def on_post_requeue(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: int
    ) -> None:
        """Enqueue the original message again, with a fresh retry count; once per dead
        job (409 after). If it fails again it becomes a new dead job."""
        # on the senders' executor: a broker under an alarm must not hold a DB thread
        data = await run_send_db(requeue, job_id, self._tasks)
        resp.status = falcon.HTTP_202
        resp.media = envelope.single(data)
