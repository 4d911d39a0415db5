"""The pipeline-task helper: moves ``PipelineTask`` rows through a document's stages.

::

    task = ctx.pipeline.receive("invoice", "invoice_0042.txt")   # RECEIVED, PENDING
    with task.stage("OCR"):                                       # PROCESSING in OCR
        text = ocr(scan)
    with task.stage("NER"):
        entities = extract(text)
    with task.stage("VALIDATION"):
        problems = validate(entities)
    if problems:
        task.fail(problems[0])                                    # FAILED at VALIDATION
    else:
        task.complete()                                           # STORED, COMPLETED

Each stage's seconds go to ``stage_durations`` when the task leaves it (``RECEIVED``
counts from the task's creation to its first stage); ``complete`` passes through the
remaining stages to the last one, so a completed task lists every stage. An exception
inside ``stage()`` fails the task at that stage and propagates; ``retry(error)`` records a
transient error (RETRYING, retries + 1); the next ``stage`` (the same one again, to retry
it) makes it PROCESSING again.
Every change is written at once and published as ``pipeline.task_updated``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from control.clock import utcnow
from control.db.database import connected
from control.enums import PipelineStatus
from control.events import EventType, publish
from control.pipelines.models import PipelineTask

log = logging.getLogger(__name__)

STAGES = ("RECEIVED", "OCR", "NER", "VALIDATION", "STORED")


class Task:
    """One document's ``PipelineTask`` row as it moves through the stages."""

    def __init__(self, pipeline: Pipeline, row: PipelineTask) -> None:
        self._pipeline = pipeline
        self.row = row
        self._entered = time.monotonic()

    @property
    def id(self) -> int:
        return int(self.row.id)

    @property
    def stage_name(self) -> str:
        return str(self.row.stage)

    @property
    def status(self) -> PipelineStatus:
        return PipelineStatus(self.row.status)

    def _close_stage(self) -> None:
        now = time.monotonic()
        durations = dict(self.row.stage_durations or {})
        spent = round(now - self._entered, 3)
        durations[self.row.stage] = round(durations.get(self.row.stage, 0.0) + spent, 3)
        self.row.stage_durations = durations
        self._entered = now

    def advance(self, stage: str) -> Task:
        """Leave the current stage and enter ``stage`` (PROCESSING)."""
        self._close_stage()
        now = utcnow()
        self.row.stage = stage
        if self.row.started is None:
            self.row.started = now
        self.row.status = PipelineStatus.PROCESSING
        self._save(now)
        return self

    @contextlib.contextmanager
    def stage(self, stage: str) -> Iterator[Task]:
        """Enter ``stage`` for the block; an exception fails the task there and propagates."""
        self.advance(stage)
        try:
            yield self
        except BaseException as exc:
            if self.row.status not in (PipelineStatus.FAILED, PipelineStatus.COMPLETED):
                self.fail(f"{type(exc).__name__}: {exc}")
            raise

    def retry(self, error: str) -> Task:
        """Record a transient error in the current stage: RETRYING, one more retry."""
        self.row.status = PipelineStatus.RETRYING
        self.row.retries = int(self.row.retries or 0) + 1
        self.row.error = error
        self.row.error_stage = self.row.stage
        self._save(utcnow())
        return self

    def fail(self, error: str, stage: str | None = None) -> Task:
        """End the task as FAILED in its current stage (or ``stage``)."""
        self._close_stage()
        now = utcnow()
        if stage is not None:
            self.row.stage = stage
        self.row.status = PipelineStatus.FAILED
        self.row.error = error
        self.row.error_stage = self.row.stage
        self._end(now)
        return self

    def complete(self) -> Task:
        """Pass through the remaining stages and end as COMPLETED in the last one."""
        stages = self._pipeline.stages
        self._close_stage()
        if self.row.stage in stages:
            for later in stages[stages.index(self.row.stage) + 1 :]:
                self.row.stage = later
                self._close_stage()
        now = utcnow()
        self.row.stage = stages[-1]
        self.row.status = PipelineStatus.COMPLETED
        self.row.error = None
        self.row.error_stage = None
        self._end(now)
        return self

    def _end(self, now: Any) -> None:
        if self.row.started is None:
            self.row.started = now
        self.row.ended = now
        self.row.duration_seconds = round(sum((self.row.stage_durations or {}).values()), 3)
        self._save(now)

    def _save(self, now: Any) -> None:
        self.row.updated = now
        if self._pipeline.muted:
            return
        with connected():
            self.row.save()
        _published(self.row)


def _published(row: PipelineTask) -> None:
    publish(
        EventType.PIPELINE_TASK_UPDATED,
        {
            "app": row.app,
            "task_id": row.id,
            "document_type": row.document_type,
            "stage": row.stage,
            "status": PipelineStatus(row.status).value,
            "runtime": row.runtime,
        },
    )


class Pipeline:
    """Creates the run's pipeline tasks (``ctx.pipeline``)."""

    def __init__(self, app_id: str, runtime_id: str | None, stages: Sequence[str] = STAGES) -> None:
        self.app_id = app_id
        self.runtime_id = runtime_id
        self.stages = tuple(stages)
        self.muted = False

    def receive(self, document_type: str, document_ref: str) -> Task:
        """A new task in the first stage, PENDING."""
        now = utcnow()
        row = PipelineTask(
            app=self.app_id,
            runtime=self.runtime_id,
            document_type=document_type[:64],
            document_ref=document_ref[:255],
            stage=self.stages[0],
            status=PipelineStatus.PENDING,
            retries=0,
            stage_durations={},
            created=now,
            updated=now,
        )
        if not self.muted:
            with connected():
                row.save(force_insert=True)
            _published(row)
        return Task(self, row)
