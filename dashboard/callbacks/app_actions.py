"""App Detail's own actions and its editor.

Actions (operators and admins): Start, Stop and Reset through the app's endpoints
(``POST /apps/{id}/start|stop|reset``), Restart, Enable and Disable as a one-app bulk job.
Every click ends in a visible line: what was accepted, or the API's message.

Editor (admins): schedule, time zone and settings, loaded with the app's ETag and saved by
``PATCH /apps/{id}`` with ``If-Match``: a change made by someone else in between is a 412,
shown as a conflict (nothing is overwritten) with a Reload to start from the current
values.
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import job_summary
from dashboard.sessions import current_client

PER_APP = {"START": "start", "STOP": "stop", "RESET": "reset"}
CONFLICT = (
    "Conflict: this app was changed by someone else since you loaded it; nothing was "
    "saved. Reload to see the current values, then edit again."
)


def run_action(app_id: str, action: str) -> tuple[str, str]:
    """``(text, css class)`` of one action's outcome."""
    client = current_client()
    try:
        if action in PER_APP:
            command = client.app_command(app_id, PER_APP[action])
            state = command.get("status") or "accepted"
            return f"{action.title()} {state} for {app_id}.", "action-status"
        job = client.bulk_command([app_id], action)
        return f"{action.title()}: bulk job {job['id']} · {job_summary(job)}", "action-status"
    except ApiError as exc:
        return f"{action.title()} refused: {exc.message}", "action-status error"


def editor_values(detail: dict[str, Any]) -> tuple[str, str, str]:
    return (
        detail.get("schedule") or "",
        detail.get("timezone") or "UTC",
        json.dumps(detail.get("settings") or {}, indent=2, sort_keys=True),
    )


def changes_from(schedule: str | None, timezone: str | None, settings: str | None) -> Any:
    """The PATCH body, or an error text (the settings must be a JSON object)."""
    try:
        parsed = json.loads(settings or "{}")
    except json.JSONDecodeError as exc:
        return f"Settings are not valid JSON: {exc.msg} (line {exc.lineno})."
    if not isinstance(parsed, dict):
        return "Settings must be a JSON object."
    return {
        "schedule": (schedule or "").strip() or None,
        "timezone": (timezone or "").strip() or "UTC",
        "settings": parsed,
    }


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("action-status", "children"),
        Output("action-status", "className"),
        Input({"type": "app-action", "action": ALL}, "n_clicks"),
        State("detail-app", "data"),
        prevent_initial_call=True,
    )
    @needs_session
    def _act(clicks: list[int | None], app_id: str | None) -> tuple[str, str]:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks) or not app_id:
            raise PreventUpdate
        return run_action(app_id, str(trigger.get("action")))

    @app.callback(
        Output("edit-schedule", "value"),
        Output("edit-timezone", "value"),
        Output("edit-settings", "value"),
        Output("edit-etag", "data"),
        Output("edit-status", "children"),
        Output("edit-status", "className"),
        Input("detail-app", "data"),
        Input("edit-reload", "n_clicks"),
        Input("edit-save", "n_clicks"),
        State("edit-schedule", "value"),
        State("edit-timezone", "value"),
        State("edit-settings", "value"),
        State("edit-etag", "data"),
    )
    @needs_session
    def _edit(
        app_id: str | None,
        _reload: int | None,
        save: int | None,
        schedule: str | None,
        timezone: str | None,
        settings: str | None,
        etag: str | None,
    ) -> Any:
        if not app_id:
            raise PreventUpdate
        client = current_client()
        if ctx.triggered_id == "edit-save" and save:
            changes = changes_from(schedule, timezone, settings)
            if isinstance(changes, str):
                return no_update, no_update, no_update, no_update, changes, "action-status error"
            try:
                detail, new_etag = client.update_app(app_id, changes, etag or "")
            except ApiError as exc:
                text = CONFLICT if exc.status == 412 else f"Not saved: {exc.message}"
                return no_update, no_update, no_update, no_update, text, "action-status error"
            saved = f"Saved (version {detail.get('version')})."
            return (*editor_values(detail), new_etag, saved, "action-status")
        try:
            detail, new_etag = client.app_with_etag(app_id)
        except ApiError as exc:
            return no_update, no_update, no_update, no_update, exc.message, "action-status error"
        note = "Reloaded." if ctx.triggered_id == "edit-reload" else ""
        return (*editor_values(detail), new_etag, note, "action-status")
