"""``/api/v1/pipelines``: document pipeline tasks, throughput and errors."""

from __future__ import annotations

import falcon.asgi

from control.pipelines import services, stages
from control.querying import parse_sort
from web import envelope
from web.concurrency import run_db
from web.openapi import operation
from web.permissions import READ
from web.schemas.pipelines import (
    ErrorsQuery,
    PipelineErrorsResponse,
    StageMatrixResponse,
    StagesQuery,
    TaskDetailResponse,
    TaskListQuery,
    TaskListResponse,
    ThroughputQuery,
    ThroughputResponse,
)

TAGS = ("pipelines",)


class PipelineTasksResource:
    """The task list and one task's detail."""

    @operation(
        "List pipeline tasks", tags=TAGS, query=TaskListQuery, response=TaskListResponse, roles=READ
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Filter by document type, status, stage or app; newest created first by default,
        or sort by created, updated, duration_seconds or retries."""
        q: TaskListQuery = req.context.query
        sort = parse_sort(q.sort, list(services.SORTABLE))
        task_filter = services.TaskFilter(
            document_type=q.document_type, status=q.status, stage=q.stage, app=q.app
        )
        page = await run_db(services.list_tasks, task_filter, sort, q.page, q.per_page)
        resp.media = envelope.offset_page(page, page.rows)

    @operation(
        "Get a pipeline task", tags=TAGS, response=TaskDetailResponse, errors=(404,), roles=READ
    )
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, task_id: int
    ) -> None:
        """The task's current stage, status, error, retry count and time per stage."""
        resp.media = envelope.single(await run_db(services.get_task, task_id))


class PipelineThroughputResource:
    """Throughput per document type."""

    @operation(
        "Pipeline throughput",
        tags=TAGS,
        query=ThroughputQuery,
        response=ThroughputResponse,
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Per document type, the tasks created in the period: totals, completed, failed,
        mean duration of the completed ones, completed per hour and the rates."""
        q: ThroughputQuery = req.context.query
        resp.media = envelope.single(await run_db(services.throughput, q.period))


class PipelineErrorsResource:
    """Recent failures per document type."""

    @operation(
        "Recent pipeline errors",
        tags=TAGS,
        query=ErrorsQuery,
        response=PipelineErrorsResponse,
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Tasks that failed in the period, grouped by document type: how many, how many
        per failing stage, and the latest ``limit`` errors of each type."""
        q: ErrorsQuery = req.context.query
        resp.media = envelope.single(await run_db(services.errors, q.period, q.limit))


class PipelineStagesResource:
    """The stage matrix: tasks per document type x current stage x status."""

    @operation(
        "Pipeline stage matrix",
        tags=TAGS,
        query=StagesQuery,
        response=StageMatrixResponse,
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The tasks created in the period, counted by document type and the stage each
        is in now, with the count per status in every cell (a failed task stays in the
        stage it failed in)."""
        q: StagesQuery = req.context.query
        resp.media = envelope.single(await run_db(stages.stage_matrix, q.period))
