"""The hourly rollup of the pipeline tasks: throughput and the stage matrix read from it
give exactly the figures of the raw tasks, for whole and partial hours, before and after
the rollup's mark, and a task that moves on after its hour was rolled counts as it is
now, at once and in the rollup's next run."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from control.enums import PipelineStatus
from control.pipelines import rollup, services, stages
from control.pipelines.models import PipelineHour, PipelineTask
from control.rollups.models import RollupMark
from tests.factories import make_app, make_pipeline_task

NOW = dt.datetime(2025, 3, 10, 12, 40)
TYPES = ("invoice", "contract", "patent")
STAGES = ("RECEIVED", "OCR", "NER", "STORED")
PERIODS = ("last_1h", "last_24h", "last_7d")


def answers(now: dt.datetime) -> list[Any]:
    return [services.throughput(p, now=now) for p in PERIODS] + [
        stages.stage_matrix(p, now=now) for p in PERIODS
    ]


def raw_answers(now: dt.datetime) -> list[Any]:
    """The answers without the rollup: its mark gone, every hour is read raw."""
    RollupMark.delete().where(RollupMark.name == rollup.NAME).execute()
    return answers(now)


@pytest.fixture
def tasks(db) -> list[PipelineTask]:
    """400 tasks of three apps over the eight days before NOW, at random seconds, each
    last changed a little after it was created."""
    rng = random.Random(11)
    apps = [make_app() for _ in range(3)]
    made = []
    for _ in range(400):
        created = NOW - dt.timedelta(seconds=rng.randrange(8 * 86_400))
        status = rng.choice(list(PipelineStatus))
        done = status in (PipelineStatus.COMPLETED, PipelineStatus.FAILED)
        made.append(
            make_pipeline_task(
                rng.choice(apps),
                document_type=rng.choice(TYPES),
                stage=rng.choice(STAGES),
                status=status,
                # exact in binary: every sum is exact
                duration_seconds=rng.randint(1, 400) * 0.25 if done else None,
                created=created,
                updated=created + dt.timedelta(seconds=30),
            )
        )
    return made


def test_throughput_and_stages_from_the_rollup_equal_the_raw_tasks(tasks):
    assert rollup.roll_up(NOW) is not None
    assert PipelineHour.select().count() > 0
    rolled = answers(NOW)
    later = NOW + dt.timedelta(minutes=25)  # partial hours at both ends, one past the mark
    rolled_later = answers(later)
    assert rolled == raw_answers(NOW)
    assert rolled_later == raw_answers(later)
    week = rolled[2]["pipelines"]
    assert sum(p["total_tasks"] for p in week) > 300  # the week holds most tasks


def test_a_task_that_moves_on_after_its_hour_was_rolled_counts_as_it_is_now(tasks):
    rollup.roll_up(NOW)
    old = next(t for t in tasks if t.created < NOW - dt.timedelta(days=3))
    changed_at = NOW + dt.timedelta(minutes=2)
    PipelineTask.update(
        status=PipelineStatus.FAILED, stage="NER", duration_seconds=7.5, updated=changed_at
    ).where(PipelineTask.id == old.id).execute()
    make_pipeline_task(  # taken in now, created in an hour already rolled
        make_app(),
        document_type="patent",
        created=NOW - dt.timedelta(hours=40),
        updated=changed_at,
    )

    later = NOW + dt.timedelta(minutes=4)
    at_once = answers(later)
    rollup.roll_up(later)  # the changed hours are rewritten
    hour = old.created.replace(minute=0, second=0, microsecond=0)
    rewritten = {
        (r.document_type, r.stage, r.status): r.tasks
        for r in PipelineHour.select().where(PipelineHour.hour == hour)
    }
    assert rewritten.get((old.document_type, "NER", "FAILED"), 0) >= 1
    after_the_run = answers(later)
    assert at_once == raw_answers(later)
    assert after_the_run == at_once


def test_rolling_up_again_writes_each_hour_once(tasks):
    rollup.roll_up(NOW)
    first = sorted(
        (r.hour, r.document_type, r.stage, r.status, r.tasks) for r in PipelineHour.select()
    )
    rollup.roll_up(NOW + dt.timedelta(minutes=10))
    again = sorted(
        (r.hour, r.document_type, r.stage, r.status, r.tasks) for r in PipelineHour.select()
    )
    assert again == first
    assert sum(r[-1] for r in again) == sum(1 for t in tasks if t.created < NOW.replace(minute=0))


def test_nothing_to_roll_up_without_tasks(db):
    assert rollup.roll_up(NOW) is None
