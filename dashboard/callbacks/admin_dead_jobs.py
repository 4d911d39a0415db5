"""Admin · Dead jobs: the list (polled), and Re-queue for the selected job."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard.admin_rows import dead_job_row
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.sessions import current_client


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("dead-jobs-grid", "rowData"),
        Output("dead-error", "children"),
        Input("tick", "n_intervals"),
        Input("dead-status", "children"),
    )
    @needs_session
    def _list(_: int | None, __: Any) -> tuple[Any, str]:
        try:
            return [dead_job_row(j) for j in current_client().dead_jobs()], ""
        except ApiError as exc:
            return [], f"Could not load the dead jobs: {exc.message}"

    @app.callback(
        Output("dead-status", "children"),
        Input("dead-requeue", "n_clicks"),
        State("dead-jobs-grid", "selectedRows"),
        prevent_initial_call=True,
    )
    @needs_session
    def _requeue(clicks: int | None, rows: list[dict[str, Any]] | None) -> str:
        if not clicks:
            raise PreventUpdate
        if not rows:
            return "Select a dead job first."
        job_id = int(rows[0]["id"])
        try:
            job = current_client().requeue_dead_job(job_id)
        except ApiError as exc:
            return f"Dead job {job_id} not re-queued: {exc.message}"
        return f"Dead job {job_id} ({job['actor']}) re-queued."
