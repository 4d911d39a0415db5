"""Data Processor: the stage matrix, the OCR/NER stage views and the grouped errors for the
chosen period (refreshed with the slow tick or a new period), and the latest tasks."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from dashboard import pipeline_views
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.pages.data_processor import STAGE_VIEWS
from dashboard.rows import short_time
from dashboard.sessions import current_client

ERRORS_PER_TYPE = 20  # enough recent failures per document type for the stage views


def register(app: dash.Dash) -> None:
    stage_outputs = [
        out
        for stage in STAGE_VIEWS
        for out in (
            Output(f"stage-{stage.lower()}-grid", "rowData"),
            Output(f"stage-{stage.lower()}-errors", "rowData"),
        )
    ]

    @app.callback(
        Output("stage-matrix", "children"),
        Output("error-groups", "children"),
        *stage_outputs,
        Output("dp-error", "children"),
        Input("dp-period", "value"),
        Input("slow-tick", "n_intervals"),
    )
    @needs_session
    def _figures(period: str | None, _: int | None) -> tuple[Any, ...]:
        client = current_client()
        try:
            matrix = client.pipeline_stages(period or "last_24h")
            errors = client.pipeline_errors(period or "last_24h", limit=ERRORS_PER_TYPE)
        except ApiError as exc:
            empty: list[Any] = [[] for _ in stage_outputs]
            return (None, None, *empty, f"Could not load the pipeline figures: {exc.message}")
        views = [
            part
            for stage in STAGE_VIEWS
            for part in (
                pipeline_views.stage_rows(matrix, stage),
                pipeline_views.stage_errors(errors, stage),
            )
        ]
        return (
            pipeline_views.stage_matrix(matrix),
            pipeline_views.error_groups(errors),
            *views,
            "",
        )

    @app.callback(
        Output("tasks-grid", "rowData"),
        Output("tasks-error", "children"),
        Input("tasks-status", "value"),
        Input("tick", "n_intervals"),
    )
    @needs_session
    def _tasks(status: str | None, _: int | None) -> tuple[Any, str]:
        try:
            tasks = current_client().pipeline_tasks(status=status or None, sort="-updated")
        except ApiError as exc:
            return [], f"Could not load the pipeline tasks: {exc.message}"
        return [{**t, "updated": short_time(t.get("updated"))} for t in tasks], ""
