"""Data Processor: the latest pipeline tasks, optionally of one status."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import short_time
from dashboard.sessions import current_client


def register(app: dash.Dash) -> None:
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
