"""Bulk jobs: ``POST /bulk/start|stop|command``, ``/bulk/jobs[/{job_id}]`` and
``POST /bulk/jobs/{job_id}/cancel``."""

from __future__ import annotations

import logging
from functools import partial

import falcon
import falcon.asgi

from control.audit.context import Actor
from control.bulk import cancel, services
from control.bulk.eligibility import dry_run_view
from control.errors import Unavailable
from control.tasks.actors import APPLY_BULK_JOB
from control.tasks.interface import TaskQueue
from web import envelope
from web.audit_context import audit_context
from web.concurrency import run_db, run_send
from web.errors import ApiError, detail
from web.openapi import operation
from web.permissions import COMMAND, READ
from web.schemas.bulk import (
    BulkAccepted,
    BulkActionRequest,
    BulkCommandRequest,
    BulkJobListResponse,
    BulkJobQuery,
    BulkJobResponse,
    BulkStartRequest,
    BulkStopRequest,
    DryRunResponse,
)
from web.wiring import LiveSettings

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


async def _enqueue(tasks: TaskQueue, job_id: str) -> None:
    """Hand the committed job to the broker, or answer 503: the job stays queued, the
    scheduler's sweep (``requeue_stale_bulk_jobs``) sends it, and so does the same POST
    with the same Idempotency-Key; Location names the job either way."""
    try:
        await run_send(tasks.send, APPLY_BULK_JOB, job_id)
    except Unavailable as exc:
        log.warning("bulk job %s stays queued: %s", job_id, exc.message)
        raise ApiError(
            503,
            "The job is saved but the message broker did not take it; it is sent again "
            "automatically. Retry with the same Idempotency-Key or follow Location.",
            headers={"Retry-After": "30", "Location": job_url(job_id)},
        ) from exc


def _path_command(body: BulkActionRequest, command: str) -> str:
    """The path's command; the body may repeat it (the spec's example does), not change it."""
    sent = body.command
    if sent is not None and sent.strip().upper() != command:
        raise ApiError(
            422,
            f"This endpoint sends {command}; the body's command says otherwise.",
            details=[detail("command", f"must be {command} here (or left out)")],
        )
    return command


# the three ways to create a job answer alike: 202 with the job, 200 for a dry run
bulk_operation = partial(
    operation,
    tags=TAGS,
    response=BulkAccepted,
    status=202,
    errors=(401, 403, 503),
    alternatives={200: DryRunResponse},
    roles=COMMAND,
)


class BulkResource:
    """Create bulk jobs; a worker applies them app by app."""

    def __init__(self, live: LiveSettings, tasks: TaskQueue) -> None:
        self.live = live
        self._tasks = tasks

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
            cap=self.live.settings.bulk_max_apps,
            rate=body.rate,
        )
        if created.job is None:  # dry run
            resp.media = envelope.single(dry_run_view(command, created.preview or []))
            return
        job = created.job
        if created.created or job["status"] == "queued":
            await _enqueue(self._tasks, job["id"])  # committed: the worker can read it
        url = job_url(job["id"])
        resp.status = falcon.HTTP_202
        resp.location = url
        resp.media = envelope.single(job | {"url": url})

    @bulk_operation("Start every app a filter matches", body=BulkStartRequest)
    async def on_post_start(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """A bulk START job: 202 with its URL in Location. ``dry_run`` answers 200 with,
        per matched app, whether START would be applied or skipped and why, and the
        counts. ``command`` in the body is optional and must be START. An empty filter,
        or more apps than ``DC_BULK_MAX_APPS``, is a 400. The same ``Idempotency-Key``
        returns the same job. A 503 (with Retry-After and Location) means the job is saved
        but the broker did not take it within a few seconds; it is sent again
        automatically."""
        await self._create(req, resp, _path_command(req.context.body, "START"))

    @bulk_operation("Stop every app a filter matches", body=BulkStopRequest)
    async def on_post_stop(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """A bulk STOP job; as ``/bulk/start``."""
        await self._create(req, resp, _path_command(req.context.body, "STOP"))

    @bulk_operation("Send a command to every app a filter matches", body=BulkCommandRequest)
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
        roles=READ,
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
        roles=READ,
    )
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: str
    ) -> None:
        """queued → running → completed (or failed), with applied / skipped / failed
        counts and one result per handled app (skipped and failed ones say why)."""
        data = await run_db(services.get_job, job_id)
        resp.media = envelope.single(data | {"url": job_url(job_id)})

    @operation(
        "Cancel a bulk job",
        tags=TAGS,
        response=BulkAccepted,
        status=202,
        errors=(401, 403, 404, 409),
        roles=COMMAND,
    )
    async def on_post_cancel(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, job_id: str
    ) -> None:
        """Stop a queued or running job between chunks: what was applied stays, every
        app without a result is recorded as skipped with reason ``cancelled`` and the job
        is ``cancelled`` when this answers (202); no app is commanded after it. A
        completed, failed or cancelled job is a 409; an unknown one a 404."""
        data = await run_db(cancel.cancel_job, job_id, audit_context(req, status=202))
        url = job_url(job_id)
        resp.status = falcon.HTTP_202
        resp.location = url
        resp.media = envelope.single(data | {"url": url})
