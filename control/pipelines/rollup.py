"""The hourly rollup of the pipeline tasks: per hour of creation, document type, current
stage and status, how many tasks and the summed duration of the completed ones.

Throughput and the stage matrix of a week (``GET /pipelines/throughput``,
``GET /pipelines/stages``) would otherwise count every task of it: about 230,000 rows
for a fleet of 10,000 apps (bench/fleet_scale.py). :func:`roll_up` (the
``roll_up_pipelines`` maintenance actor, every few minutes) rewrites the hours from
``LOOKBACK`` before its mark up to the current hour, and the older hours of every task
changed (``updated``) since its last run, in one transaction, and moves the mark.

A task changes after it is counted (its stage and status move on), so :func:`counts`
reads from the rollup only the whole hours before the mark in which no task changed
since ``MARGIN`` before the run that wrote them began, and the raw tasks for the rest:
an answer is exact whatever the rollup's age (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import Case, fn

from control.db.database import connected
from control.enums import PipelineStatus
from control.pipelines.models import PipelineHour, PipelineTask
from control.querying import bucket_start, tuples
from control.rollups import hourly

NAME = "pipeline_hour"
LOOKBACK = dt.timedelta(hours=24)
# how long a writer's transaction may take between setting a task's ``updated`` and
# committing it and still be seen as a change by the rollup
MARGIN = dt.timedelta(minutes=10)

Key = tuple[str, str, PipelineStatus]
"""(document type, stage, status)."""


@dataclass
class Counts:
    """The tasks of a key: how many, and the durations of the completed ones."""

    tasks: int = 0
    duration_sum: float = 0.0
    durations: int = 0

    def add(self, tasks: Any, duration_sum: Any, durations: Any) -> None:
        self.tasks += int(tasks)
        self.duration_sum += float(duration_sum or 0)
        self.durations += int(durations or 0)


def _figures() -> list[Any]:
    completed = PipelineTask.status == PipelineStatus.COMPLETED
    duration = Case(None, ((completed, PipelineTask.duration_seconds),), None)
    return [fn.COUNT(PipelineTask.id), fn.COALESCE(fn.SUM(duration), 0), fn.COUNT(duration)]


def _changed_hours(since: dt.datetime, ranges: tuple[hourly.Range, ...]) -> list[dt.datetime]:
    """The hours of creation, within ``ranges``, of the tasks changed since ``since``."""
    hour = hourly.hour_of(PipelineTask.created)
    query = (
        PipelineTask.select(hour)
        .where(PipelineTask.updated >= since, hourly.in_ranges(PipelineTask.created, ranges))
        .distinct()
    )
    return [bucket_start(value) for (value,) in tuples(query)]


def _oldest() -> dt.datetime | None:
    oldest: dt.datetime | None = PipelineTask.select(fn.MIN(PipelineTask.created)).scalar()
    return oldest


def _rewrite(since: dt.datetime, until: dt.datetime, before: dt.datetime | None) -> None:
    ranges: tuple[hourly.Range, ...] = ((since, until),)
    if before is not None:
        older = _changed_hours(before - MARGIN, ((dt.datetime.min, since),))
        ranges += tuple((h, h + hourly.HOUR) for h in older)
    PipelineHour.delete().where(hourly.in_ranges(PipelineHour.hour, ranges)).execute()
    hour = hourly.hour_of(PipelineTask.created)
    sums = (
        PipelineTask.select(
            hour,
            PipelineTask.document_type,
            PipelineTask.stage,
            PipelineTask.status,
            *_figures(),
        )
        .where(hourly.in_ranges(PipelineTask.created, ranges))
        .group_by(hour, PipelineTask.document_type, PipelineTask.stage, PipelineTask.status)
    )
    PipelineHour.insert_from(
        sums,
        [
            PipelineHour.hour,
            PipelineHour.document_type,
            PipelineHour.stage,
            PipelineHour.status,
            PipelineHour.tasks,
            PipelineHour.duration_sum,
            PipelineHour.durations,
        ],
    ).execute()


def roll_up(now: dt.datetime | None = None) -> hourly.Range | None:
    """Rewrite the rollup's recent hours and those of the tasks changed since the last
    run; move the mark to the hour of ``now`` (:func:`hourly.roll_up`)."""
    return hourly.roll_up(NAME, _rewrite, _oldest, LOOKBACK, now)


def counts(since: dt.datetime, until: dt.datetime) -> dict[Key, Counts]:
    """Per (document type, stage, status), the tasks created in ``[since, until)``."""
    found: dict[Key, Counts] = {}
    with connected():
        mark = hourly.mark(NAME)
        ranges = hourly.split(None if mark is None else mark.rolled_until, since, until)
        if mark is not None and ranges.rolled:
            ranges = ranges.without(_changed_hours(mark.updated - MARGIN, ranges.rolled))
        queries: list[Any] = []
        if ranges.raw:
            raw_keys = (PipelineTask.document_type, PipelineTask.stage, PipelineTask.status)
            queries.append(
                PipelineTask.select(*raw_keys, *_figures())
                .where(hourly.in_ranges(PipelineTask.created, ranges.raw))
                .group_by(*raw_keys)
            )
        if ranges.rolled:
            keys = (PipelineHour.document_type, PipelineHour.stage, PipelineHour.status)
            queries.append(
                PipelineHour.select(
                    *keys,
                    fn.SUM(PipelineHour.tasks),
                    fn.SUM(PipelineHour.duration_sum),
                    fn.SUM(PipelineHour.durations),
                )
                .where(hourly.in_ranges(PipelineHour.hour, ranges.rolled))
                .group_by(*keys)
            )
        for query in queries:
            for document_type, stage, status, *figures in tuples(query):
                key = (document_type, stage, PipelineStatus(status))
                found.setdefault(key, Counts()).add(*figures)
    return found
