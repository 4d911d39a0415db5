"""Which bus events are worth a notification, as :class:`NotificationEvent`.

============================  ====================  =========  ===========================
bus event                     notification          severity   dedup key
============================  ====================  =========  ===========================
``app.fatal``                 ``app.fatal``         critical   ``app.fatal:<app>``
``runtime.completed`` FAILED  ``runtime.failed``    error      ``runtime.failed:<app>``
``pipeline.task_updated``     ``pipeline.error_rate``  warning  ``pipeline.error_rate:<app>``
FAILED, when the app's error rate over the last 15 minutes (failed / finished, at
least 10 finished) reaches ``DC_NOTIFICATION_PIPELINE_ERROR_RATE``
(none; call :func:`command_failed`)  ``command.failed``  error  ``command.failed:<app>``
``app.health_changed``        ``app.health``        warning    ``app.health:<verdict>:<app>``
raised (``failing``: error); cleared: info, ``app.health:<verdict>:<app>:cleared``
============================  ====================  =========  ===========================
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from peewee import fn

from control.clock import utcnow
from control.db.database import connected
from control.enums import PipelineStatus
from control.events.types import Event, EventType
from control.notifications.models import Severity
from control.notifications.routing import NotificationEvent
from control.pipelines.models import PipelineTask
from control.querying import tuples

ERROR_RATE_WINDOW = dt.timedelta(minutes=15)
ERROR_RATE_MIN_TASKS = 10


def pipeline_error_rate(app: str, window: dt.timedelta = ERROR_RATE_WINDOW) -> tuple[float, int]:
    """(failed / finished, finished) of ``app``'s pipeline tasks updated in ``window``."""
    with connected():
        rows = dict(
            tuples(
                PipelineTask.select(PipelineTask.status, fn.COUNT(PipelineTask.id))
                .where(
                    PipelineTask.app == app,
                    PipelineTask.updated >= utcnow() - window,
                    PipelineTask.status.in_([PipelineStatus.COMPLETED, PipelineStatus.FAILED]),
                )
                .group_by(PipelineTask.status)
            )
        )
    counts = {PipelineStatus(k): v for k, v in rows.items()}
    finished = sum(counts.values())
    failed = counts.get(PipelineStatus.FAILED, 0)
    return (failed / finished if finished else 0.0), finished


def command_failed(app: str, command: str, error: str) -> NotificationEvent:
    """The notification for a command that could not be carried out."""
    return NotificationEvent(
        type="command.failed",
        severity=Severity.ERROR,
        title=f"{command} failed for {app}",
        body=error,
        dedup_key=f"command.failed:{app}",
        data={"app": app, "command": command},
    )


def from_bus(event: Event, error_rate_threshold: float) -> NotificationEvent | None:
    """The notification ``event`` calls for, or None."""
    data: dict[str, Any] = dict(event.data)
    app = str(data.get("app", ""))
    if event.type is EventType.APP_FATAL:
        return NotificationEvent(
            type="app.fatal",
            severity=Severity.CRITICAL,
            title=f"{app} is fatal",
            body=str(data.get("reason") or ""),
            dedup_key=f"app.fatal:{app}",
            data=data,
        )
    if event.type is EventType.RUNTIME_COMPLETED and data.get("status") == "FAILED":
        return NotificationEvent(
            type="runtime.failed",
            severity=Severity.ERROR,
            title=f"{app}: run {data.get('runtime', '')} failed",
            body=str(data.get("error") or ""),
            dedup_key=f"runtime.failed:{app}",
            data=data,
        )
    if event.type is EventType.PIPELINE_TASK_UPDATED and data.get("status") == "FAILED":
        rate, finished = pipeline_error_rate(app)
        if finished >= ERROR_RATE_MIN_TASKS and rate >= error_rate_threshold:
            return NotificationEvent(
                type="pipeline.error_rate",
                severity=Severity.WARNING,
                title=f"{app}: pipeline error rate {rate:.0%}",
                body=f"{rate:.0%} of {finished} pipeline tasks failed in the last 15 minutes.",
                dedup_key=f"pipeline.error_rate:{app}",
                data={**data, "error_rate": round(rate, 4), "finished": finished},
            )
    if event.type is EventType.APP_HEALTH_CHANGED:
        return health_changed(app, data)
    return None


def health_changed(app: str, data: dict[str, Any]) -> NotificationEvent:
    """``app.health``: a verdict raised (warning; ``failing`` error) or cleared (info)."""
    verdict = str(data.get("verdict", ""))
    raised = data.get("state") != "cleared"
    evidence = data.get("evidence") or {}
    figures = (
        ", ".join(f"{k}={v}" for k, v in evidence.items()) if isinstance(evidence, dict) else ""
    )
    severity = Severity.INFO
    if raised:
        severity = Severity.ERROR if verdict == "failing" else Severity.WARNING
    return NotificationEvent(
        type="app.health",
        severity=severity,
        title=f"{app} is {verdict}" if raised else f"{app} is no longer {verdict}",
        body=figures,
        dedup_key=f"app.health:{verdict}:{app}" + ("" if raised else ":cleared"),
        data=data,
    )
