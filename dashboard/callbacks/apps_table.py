"""The Program Manager's grid, paged on the server: AG Grid's infinite row model asks for
the block of rows it shows (``getRowsRequest``: startRow, endRow, sortModel, filterModel),
answered from one ``GET /api/v1/apps`` page (``getRowsResponse``, with the API's
``meta.total`` as the row count). Each poll reloads only the blocks the grid keeps
(``assets/apps_grid.js``); a click on an id opens the app."""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard import paths
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import (
    BLOCK_SIZE,
    app_row,
    column_filters,
    filters_for,
    merge_filters,
    pages_for,
    sort_param,
)
from dashboard.sessions import current_client

LINK_COLUMNS = {"id", "app"}


def count_text(total: int) -> str:
    return f"{total} app" if total == 1 else f"{total} apps"


def rows_for(request: dict[str, Any], selected: dict[str, Any] | None) -> tuple[Any, str]:
    """The grid's ``getRowsResponse`` for one request, and the count line."""
    selected = selected or {}
    sidebar = filters_for(selected.get("view") or "all", selected.get("group"))
    filters = merge_filters(sidebar, column_filters(request.get("filterModel")))
    if filters is None:  # the column filter contradicts the sidebar: nothing matches
        return {"rowData": [], "rowCount": 0}, count_text(0)
    start = int(request.get("startRow") or 0)
    end = int(request.get("endRow") or start + BLOCK_SIZE)
    per_page, pages, skip, count = pages_for(start, end)
    sort = sort_param(request.get("sortModel"))
    client = current_client()
    apps: list[dict[str, Any]] = []
    total = 0
    try:
        for page in pages:
            body = client.apps_page(page, per_page, sort, **filters)
            apps.extend(body["data"])
            total = int(body["meta"]["total"])
    except ApiError as exc:
        # an empty answer without a row count: the block shows nothing until the next poll
        # asks again (answering nothing would leave the grid waiting for ever)
        return {"rowData": []}, f"Could not load the apps: {exc.message}"
    rows = [app_row(a) for a in apps[skip : skip + count]]
    return {"rowData": rows, "rowCount": total}, count_text(total)


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("apps-grid", "getRowsResponse"),
        Output("apps-count", "children"),
        Input("apps-grid", "getRowsRequest"),
        State("pm-filter", "data"),
        prevent_initial_call=True,
    )
    @needs_session
    def _rows(request: dict[str, Any] | None, selected: dict[str, Any] | None) -> Any:
        if not request:
            raise PreventUpdate
        return rows_for(request, selected)

    # The poll: reload the grid's cached blocks in place (scroll position and selection
    # stay); a new sidebar filter on a grid that stays mounted starts over from the top.
    app.clientside_callback(
        ClientsideFunction(namespace="dc", function_name="refreshApps"),
        Output("apps-refreshed", "data"),
        Input("tick", "n_intervals"),
        Input("pm-filter", "data"),
    )

    @app.callback(
        Output("url", "pathname"),
        Input("apps-grid", "cellClicked"),
        prevent_initial_call=True,
    )
    def _open(cell: dict[str, Any] | None) -> str:
        if not cell or cell.get("colId") not in LINK_COLUMNS:
            raise PreventUpdate
        app_id = cell.get("rowId")  # getRowId: the app's id
        if not app_id:
            raise PreventUpdate
        return paths.app_path(str(app_id))
