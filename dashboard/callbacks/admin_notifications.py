"""Admin · Notifications: list the channels, fill the form from the selected one, create,
save or test-send from it, and show the delivery history (of the selection, else all)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from dashboard.admin_rows import (
    FormError,
    channel_body,
    channel_row,
    delivery_row,
    editable_config,
)
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.pages.admin_notifications import EVENTS
from dashboard.sessions import current_client

FORM = (
    State("channel-name", "value"),
    State("channel-type", "value"),
    State("channel-config", "value"),
    State("channel-events", "value"),
    State("channel-severity", "value"),
    State("channel-enabled", "value"),
)


def _selected(rows: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    return rows[0] if rows else None


def _act(trigger: Any, form: tuple[Any, ...], selected: dict[str, Any] | None) -> tuple[str, Any]:
    """Run the clicked action: the outcome line, and the config box's new text (the
    stored channel's, without its secrets, once they were sent) or ``no_update``."""
    client = current_client()
    if trigger == "channel-test":
        if selected is None:
            return "Select a channel to test first.", dash.no_update
        delivery = client.test_channel(int(selected["id"]))
        return f"Test message queued to {selected['name']} (delivery {delivery['id']}).", (
            dash.no_update
        )
    body = channel_body(*form)
    if trigger == "channel-create":
        created = client.create_channel(body)
        return f"Channel {created['name']} created.", editable_config(created)
    if selected is None:
        return "Select a channel to save changes to, or Create a new one.", dash.no_update
    changes = {k: v for k, v in body.items() if k != "type"}  # the type is fixed
    saved = client.update_channel(int(selected["id"]), changes)
    return f"Channel {saved['name']} saved.", editable_config(saved)


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("channels-grid", "rowData"),
        Output("channels-error", "children"),
        Input("channels-version", "data"),
        Input("slow-tick", "n_intervals"),
    )
    @needs_session
    def _channels(_: int | None, __: int | None) -> tuple[Any, str]:
        try:
            return [channel_row(c) for c in current_client().channels()], ""
        except ApiError as exc:
            return [], f"Could not load the channels: {exc.message}"

    @app.callback(
        Output("channel-name", "value"),
        Output("channel-type", "value"),
        Output("channel-config", "value"),
        Output("channel-events", "value"),
        Output("channel-severity", "value"),
        Output("channel-enabled", "value"),
        Output("channel-form-title", "children"),
        Output("channels-grid", "selectedRows"),
        Input("channels-grid", "selectedRows"),
        Input("channel-clear", "n_clicks"),
        prevent_initial_call=True,
    )
    def _fill(rows: list[dict[str, Any]] | None, _: int | None) -> tuple[Any, ...]:
        selected = _selected(rows)
        if ctx.triggered_id == "channel-clear" or selected is None:
            blank = ("", "webhook", "", list(EVENTS), "warning", ["on"], "New channel")
            return (*blank, [] if ctx.triggered_id == "channel-clear" else dash.no_update)
        return (
            selected["name"],
            selected["type"],
            editable_config(selected),
            list(selected.get("events") or []),
            selected.get("min_severity") or "warning",
            ["on"] if selected.get("enabled_flag") else [],
            f"Channel {selected['name']} (#{selected['id']})",
            dash.no_update,
        )

    @app.callback(
        Output("channel-status", "children"),
        Output("channels-version", "data"),
        # the secrets typed leave the page once the API has them
        Output("channel-config", "value", allow_duplicate=True),
        Input("channel-create", "n_clicks"),
        Input("channel-save", "n_clicks"),
        Input("channel-test", "n_clicks"),
        *FORM,
        State("channels-grid", "selectedRows"),
        State("channels-version", "data"),
        prevent_initial_call=True,
    )
    @needs_session
    def _action(*values: Any) -> tuple[str, Any, Any]:
        if not any(values[:3]):
            raise PreventUpdate
        form, rows, version = values[3:9], values[9], values[10]
        try:
            outcome, config = _act(ctx.triggered_id, form, _selected(rows))
        except FormError as exc:
            return str(exc), dash.no_update, dash.no_update
        except ApiError as exc:
            return f"Refused: {exc.message}", dash.no_update, dash.no_update
        return outcome, (version or 0) + 1, config

    @app.callback(
        Output("deliveries-grid", "rowData"),
        Output("deliveries-title", "children"),
        Input("tick", "n_intervals"),
        Input("channels-grid", "selectedRows"),
        Input("channels-version", "data"),
    )
    @needs_session
    def _history(_: int | None, rows: list[dict[str, Any]] | None, __: int | None) -> Any:
        selected = _selected(rows)
        title = f"Delivery history · {selected['name']}" if selected else "Delivery history"
        try:
            items = current_client().deliveries(int(selected["id"]) if selected else None)
        except ApiError as exc:
            return [], f"{title} (could not load: {exc.message})"
        return [delivery_row(d) for d in items], title
