"""Bulk jobs: ``POST /bulk/start|stop|command`` and ``/bulk/jobs[/{job_id}]``."""

from __future__ import annotations

import asyncio
import logging

import falcon
import falcon.asgi

from control.bulk import services
from control.commands.services import Actor
from web import envelope
from web.concurrency import run_db
from web.errors import ApiError, detail
from web.openapi import operation
from web.schemas.bulk import (
    BulkAccepted,
    BulkActionRequest,
    BulkCommandRequest,
    BulkJobListResponse,
    BulkJobQuery,
    BulkJobResponse,
)
from web.wiring import Services
from workers.bulk import enqueue_job

API = "/api/v1"
TAGS = ("bulk",)
MAX_KEY_LENGTH = 255
log = logging.getLogger(__name__)


def job_url(job_id: str) -> str:
    """Where a bulk job is followed."""
    return f"{API}/bulk/jobs/{job_id}"


def _actor(req: falcon.asgi.Request) -> Actor:
    principal = req.context.principal
    return Actor(subject=principal.subject, kind=principal.kind, role=principal.role.value)


def _idempotency_key(req: falcon.asgi.Request) -> str | None:
    key = (req.get_header("Idempotency-Key") or "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            400,
            f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.",
            code="BAD_REQUEST",
            details=[detail("Idempotency-Key", "too long")],
        )
    return key or None


def _enqueue(job_id: str) -> None:
    try:
        enqueue_job(job_id)
    except Exception:
        # the job stays queued: the scheduler's sweep (requeue_stale_bulk_jobs) sends it
        # again, and so does the same POST with the same Idempotency-Key
        log.warning("bulk job %s stays queued: the broker refused it", job_id, exc_info=True)


class BulkResource:
    """Create bulk jobs; a worker applies them app by app."""

    def __init__(self, services_: Services) -> None:
        self._services = services_

    async def _create(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, command: str
    ) -> None:
        body: BulkActionRequest = req.context.body
        created = await run_db(
            services.create_job,
            body.filter.model_dump(mode="json", exclude_none=True),
            command,
            _actor(req),
            idempotency_key=_idempotency_key(req),
            dry_run=body.dry_run,
            cap=self._services.settings.bulk_max_apps,
        )
        if created.job is None:  # dry run
            ids = created.matched or []
            resp.media = envelope.single({"dry_run": True, "matched": len(ids), "app_ids": ids})
            return
        job = created.job
        if created.created or job["status"] == "queued":
            await asyncio.to_thread(_enqueue, job["id"])  # committed: the worker can read it
        url = job_url(job["id"])
        resp.status = falcon.HTTP_202
        resp.location = url
        resp.media = envelope.single(job | {"url": url})

    @operation(
        "Start every app a filter matches",
        tags=TAGS,
        body=BulkActionRequest,
        response=BulkAccepted,
        status=202,
        errors=(401, 403),
    )
    async def on_post_start(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """A bulk START job: 202 with its URL in Location. ``dry_run`` answers 200 with
        the matched app ids instead. An empty filter, or more apps than
        ``DC_BULK_MAX_APPS``, is a 400. The same ``Idempotency-Key`` returns the same job."""
        await self._create(req, resp, "START")

    @operation(
        "Stop every app a filter matches",
        tags=TAGS,
        body=BulkActionRequest,
        response=BulkAccepted,
        status=202,
        errors=(401, 403),
    )
    async def on_post_stop(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """A bulk STOP job; as ``/bulk/start``."""
        await self._create(req, resp, "STOP")

    @operation(
        "Send a command to every app a filter matches",
        tags=TAGS,
        body=BulkCommandRequest,
        response=BulkAccepted,
        status=202,
        errors=(401, 403),
    )
    async def on_post_command(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """START, STOP, RESTART, RESET, ENABLE or DISABLE; as ``/bulk/start``. Apps for
        which the command makes no sense now are skipped, with the reason, per app."""
        body: BulkCommandRequest = req.context.body
        await self._create(req, resp, body.command)


class BulkJobsResource:
    """Follow bulk jobs: status, counts, per-app results."""

    @operation(
        "List bulk jobs",
        tags=TAGS,
        query=BulkJobQuery,
        response=BulkJobListResponse,
        errors=(401, 403),
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Newest first, with counts (no per-app results)."""
        q: BulkJobQuery = req.context.query
        page = await run_db(services.list_jobs, q.page, q.per_page, q.status)
        resp.media = envelope.offset_page(page, [j | {"url": job_url(j["id"])} for j in page.rows])

    @operation(
        "Get a bulk job",
        tags=TAGS,
        response=BulkJobResponse,
        errors=(401, 403, 404),
    )
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: str
    ) -> None:
        """queued → running → completed (or failed), with applied / skipped / failed
        counts and one result per handled app (skipped and failed ones say why)."""
        data = await run_db(services.get_job, job_id)
        resp.media = envelope.single(data | {"url": job_url(job_id)})
