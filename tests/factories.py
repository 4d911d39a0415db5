"""Row factories for tests: sensible defaults, override what the test is about."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from control.apps.models import Apps
from control.enums import RuntimeStatus
from control.logs.models import Logs
from control.performance.models import FunctionLog
from control.pipelines.models import PipelineTask
from control.runtimes.models import Runtime

_seq = itertools.count(1)
BASE_TIME = dt.datetime(2025, 1, 15, 7, 30)


def make_app(**fields: Any) -> Apps:
    n = next(_seq)
    values: dict[str, Any] = {
        "id": f"scraper_test_{n:04d}",
        "group": "de",
        "parent": "registry",
        "app": f"scraper_test_{n:04d}",
        "schedule": "*/30 * * * *",
    }
    values.update(fields)
    return Apps.create(**values)


def make_runtime(app: Apps, *, started: dt.datetime = BASE_TIME, **fields: Any) -> Runtime:
    values: dict[str, Any] = {
        "id": f"{started:%Y%m%d_%H%M%S}_{app.id}",
        "app": app,
        "started": started,
        "status": RuntimeStatus.COMPLETED,
        "ended": started + dt.timedelta(minutes=15),
    }
    values.update(fields)
    return Runtime.create(**values)


def make_log(app: Apps, **fields: Any) -> Logs:
    values: dict[str, Any] = {
        "app": app.id,
        "level": 20,
        "message": "hello",
        "timestamp": BASE_TIME,
    }
    values.update(fields)
    return Logs.create(**values)


def make_function_log(app: Apps, **fields: Any) -> FunctionLog:
    values: dict[str, Any] = {"app": app.id, "function_name": "fetch", "runtime_seconds": 1.0}
    values.update(fields)
    return FunctionLog.create(**values)


def make_pipeline_task(app: Apps, **fields: Any) -> PipelineTask:
    values: dict[str, Any] = {
        "app": app.id,
        "document_type": "invoice",
        "document_ref": f"doc-{next(_seq)}",
        "stage": "RECEIVED",
    }
    values.update(fields)
    return PipelineTask.create(**values)
