"""Bulk buttons: the selected rows go to ``POST /api/v1/bulk/command``; the job is followed
until it ends."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import BULK_COMMANDS, job_summary
from dashboard.sessions import current_client

FINAL = {"completed", "failed"}


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("bulk-job", "data"),
        Input({"type": "bulk", "command": ALL}, "n_clicks"),
        State("apps-grid", "selectedRows"),
        prevent_initial_call=True,
    )
    @needs_session
    def _submit(clicks: list[int | None], selected: list[dict[str, Any]] | None) -> Any:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks):
            raise PreventUpdate
        command = str(trigger.get("command"))
        if command not in BULK_COMMANDS:
            raise PreventUpdate
        app_ids = [row["id"] for row in (selected or []) if row.get("id")]
        if not app_ids:
            return {"error": "Select one or more apps first."}
        try:
            job = current_client().bulk_command(app_ids, command)
        except ApiError as exc:
            return {"error": f"{command.title()} refused: {exc.message}"}
        return {"id": job["id"], "summary": job_summary(job), "status": job.get("status")}

    @app.callback(
        Output("bulk-status", "children"),
        Output("bulk-final", "data"),
        Input("bulk-job", "data"),
        Input("tick", "n_intervals"),
        State("bulk-final", "data"),
    )
    @needs_session
    def _follow(job: dict[str, Any] | None, _: int | None, final: str | None) -> Any:
        if not job:
            return "", None
        if job.get("error"):
            return job["error"], None
        if ctx.triggered_id == "tick" and final == job["id"]:
            raise PreventUpdate  # the job has ended: nothing more to fetch
        try:
            current = current_client().bulk_job(job["id"])
        except ApiError as exc:
            return f"Bulk job {job['id']}: {exc.message}", None
        done = job["id"] if current.get("status") in FINAL else None
        return f"Bulk job {job['id']} · {job_summary(current)}", done
