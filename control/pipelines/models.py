"""The pipeline task table (documents moving through a pipeline's stages) and its hourly rollup."""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    DateTimeField,
    FloatField,
    IntegerField,
    TextField,
)

from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import EnumField, JSONField
from control.enums import PipelineStatus


class PipelineTask(BaseModel):
    """A document moving through a pipeline's stages (e.g. OCR, NER)."""

    id = AutoField()
    app = CharField(max_length=128, column_name="app_id", index=True)
    runtime = CharField(max_length=200, column_name="runtime_id", null=True)
    document_type = CharField(max_length=64)
    document_ref = CharField(max_length=255)
    stage = CharField(max_length=32)
    status = EnumField(PipelineStatus, default=PipelineStatus.PENDING)
    retries = IntegerField(default=0)
    error = TextField(null=True)
    error_stage = CharField(max_length=32, null=True)
    stage_durations = JSONField(default=dict)  # {stage: seconds}
    duration_seconds = FloatField(null=True)
    created = DateTimeField(default=utcnow)
    started = DateTimeField(null=True)
    ended = DateTimeField(null=True)
    updated = DateTimeField(default=utcnow)

    class Meta:
        table_name = "pipeline_task"
        indexes = (
            (("document_type", "created"), False),
            (("status", "created"), False),
            (("status", "ended"), False),  # the failures of a period
            (("stage",), False),
            (("created",), False),
            (("updated",), False),  # what changed since the hourly rollup's last run
        )


# The figures of a period (throughput, stage matrix) read from the index alone.
PipelineTask.add_index(
    PipelineTask.index(
        PipelineTask.created,
        PipelineTask.document_type,
        PipelineTask.status,
        PipelineTask.stage,
        PipelineTask.duration_seconds,
        name="pipeline_task_created_figures",
    )
)


class PipelineHour(BaseModel):
    """The tasks counted per hour of creation, document type, current stage and status
    (``control.pipelines.rollup``): how many, and the summed duration of the completed
    ones that have a duration and how many they are, so that hours add up to windows."""

    id = AutoField()
    hour = DateTimeField()  # the start of the hour the tasks were created in, naive UTC
    document_type = CharField(max_length=64)
    stage = CharField(max_length=32)
    status = CharField(max_length=16)
    tasks = BigIntegerField()
    duration_sum = FloatField()
    durations = BigIntegerField()

    class Meta:
        table_name = "pipeline_hour"
        indexes = ((("hour", "document_type", "stage", "status"), True),)
