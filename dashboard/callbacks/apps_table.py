"""The Program Manager's grid: polled every few seconds; a click on an id opens the app."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard import paths
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import app_row, filters_for
from dashboard.sessions import current_client

LINK_COLUMNS = {"id", "app"}


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("apps-grid", "rowData"),
        Output("apps-count", "children"),
        Input("tick", "n_intervals"),
        Input("pm-filter", "data"),
    )
    @needs_session
    def _poll(_: int | None, selected: dict[str, Any] | None) -> tuple[Any, str]:
        selected = selected or {}
        filters = filters_for(selected.get("view") or "all", selected.get("group"))
        try:
            apps = current_client().apps(**filters)
        except ApiError as exc:
            return dash.no_update, f"Could not load the apps: {exc.message}"
        return [app_row(a) for a in apps], f"{len(apps)} apps"

    @app.callback(
        Output("url", "pathname"),
        Input("apps-grid", "cellClicked"),
        State("apps-grid", "rowData"),
        prevent_initial_call=True,
    )
    def _open(cell: dict[str, Any] | None, rows: list[dict[str, Any]] | None) -> str:
        if not cell or cell.get("colId") not in LINK_COLUMNS:
            raise PreventUpdate
        app_id = cell.get("rowId")
        if app_id is None and rows and cell.get("rowIndex") is not None:
            app_id = rows[int(cell["rowIndex"])]["id"]
        if not app_id:
            raise PreventUpdate
        return paths.app_path(str(app_id))
