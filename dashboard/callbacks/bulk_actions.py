"""Bulk buttons: the selected rows go to ``POST /api/v1/bulk/command`` after a
confirmation that names how many apps the action will touch (the API's dry run); the job
is followed until it ends. Every outcome is shown: the job's counts, or the API's message."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import BULK_COMMANDS, job_summary
from dashboard.sessions import current_client

FINAL = {"completed", "failed", "cancelled"}
HIDDEN = "confirm hidden"
SHOWN = "confirm"


def apps_text(n: int) -> str:
    return "1 app" if n == 1 else f"{n} apps"


def _ask(command: str, selected: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    """The dry run: the confirmation, or why there is nothing to confirm."""
    app_ids = [row["id"] for row in (selected or []) if row and row.get("id")]
    if not app_ids:
        return {"error": "Select one or more apps first."}, None, HIDDEN, ""
    try:
        dry = current_client().bulk_dry_run(app_ids, command)
    except ApiError as exc:
        return {"error": f"{command.title()} refused: {exc.message}"}, None, HIDDEN, ""
    matched = int(dry.get("matched") or 0)
    text = f"{command.title()} {apps_text(matched)}?"
    if matched != len(app_ids):
        text += f" ({len(app_ids)} selected; the others no longer exist)"
    pending = {"command": command, "app_ids": app_ids, "matched": matched}
    return no_update, pending, SHOWN, text


def _run(pending: dict[str, Any] | None) -> tuple[Any, ...]:
    if not pending:
        raise PreventUpdate
    command = str(pending["command"])
    try:
        job = current_client().bulk_command(list(pending["app_ids"]), command)
    except ApiError as exc:
        return {"error": f"{command.title()} refused: {exc.message}"}, None, HIDDEN, ""
    summary = job_summary(job)
    return {"id": job["id"], "summary": summary, "status": job.get("status")}, None, HIDDEN, ""


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("bulk-job", "data"),
        Output("bulk-pending", "data"),
        Output("bulk-confirm", "className"),
        Output("bulk-confirm-text", "children"),
        Input({"type": "bulk", "command": ALL}, "n_clicks"),
        Input("bulk-confirm-yes", "n_clicks"),
        Input("bulk-confirm-no", "n_clicks"),
        State("apps-grid", "selectedRows"),
        State("bulk-pending", "data"),
        prevent_initial_call=True,
    )
    @needs_session
    def _submit(
        clicks: list[int | None],
        yes: int | None,
        no: int | None,
        selected: list[dict[str, Any]] | None,
        pending: dict[str, Any] | None,
    ) -> Any:
        trigger = ctx.triggered_id
        if trigger == "bulk-confirm-yes" and yes:
            return _run(pending)
        if trigger == "bulk-confirm-no" and no:
            return {"error": "Cancelled: nothing was sent."}, None, HIDDEN, ""
        if not isinstance(trigger, dict) or not any(clicks):
            raise PreventUpdate
        command = str(trigger.get("command"))
        if command not in BULK_COMMANDS:
            raise PreventUpdate
        return _ask(command, selected)

    @app.callback(
        Output("bulk-status", "children"),
        Output("bulk-status", "className"),
        Output("bulk-final", "data"),
        Input("bulk-job", "data"),
        Input("tick", "n_intervals"),
        State("bulk-final", "data"),
    )
    @needs_session
    def _follow(job: dict[str, Any] | None, _: int | None, final: str | None) -> Any:
        if not job:
            return "", "bulk-status", None
        if job.get("error"):
            return job["error"], "bulk-status error", None
        if ctx.triggered_id == "tick" and final == job["id"]:
            raise PreventUpdate  # the job has ended: nothing more to fetch
        try:
            current = current_client().bulk_job(job["id"])
        except ApiError as exc:
            return f"Bulk job {job['id']}: {exc.message}", "bulk-status error", None
        done = job["id"] if current.get("status") in FINAL else None
        failed = current.get("status") == "failed" or bool(current.get("failed"))
        css = "bulk-status error" if failed else "bulk-status"
        text = f"Bulk job {job['id']} · {job_summary(current)}"
        if current.get("error"):
            text += f" · {current['error']}"
        return text, css, done
