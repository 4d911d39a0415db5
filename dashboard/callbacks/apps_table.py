"""The Program Manager's grid, paged on the server: AG Grid's infinite row model asks for
the block of rows it shows (``getRowsRequest``: startRow, endRow, sortModel, filterModel),
answered from one ``GET /api/v1/apps`` page (``getRowsResponse``, with the API's
``meta.total`` as the row count). Each poll reloads only the blocks the grid keeps
(``assets/apps_grid.js``); a click on an id opens the app."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import dash
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard import paths
from dashboard.api_client import ApiClient, ApiError, ApiUnavailable
from dashboard.callbacks.clientside import clientside
from dashboard.callbacks.session import needs_session
from dashboard.callbacks.user_settings import user_zone
from dashboard.rows import (
    BLOCK_SIZE,
    app_row,
    column_filters,
    filters_for,
    merge_filters,
    pages_for,
    sort_param,
)
from dashboard.run_strips import strips_of
from dashboard.sessions import current_client

LINK_COLUMNS = {"id", "app"}


def count_text(total: int) -> str:
    return f"{total} app" if total == 1 else f"{total} apps"


def _answer(
    client: ApiClient, shown: list[dict[str, Any]], total: int, tz: ZoneInfo
) -> tuple[Any, str]:
    """The block's rows with their run strips (one more API call for the apps whose strip
    may have changed since the last poll: ``dashboard/run_strips.py``)."""
    strips = strips_of(client).for_block(client, shown, tz)
    rows = [app_row(a, tz) | {"runs": strips[str(a["id"])]} for a in shown]
    return {"rowData": rows, "rowCount": total}, count_text(total)


MAX_REMEMBERED = 8  # blocks per session: the grid keeps 2; a few sorts or filters more


def remember(memory: dict[str, Any], key: str, answer: Any) -> None:
    memory.pop(key, None)
    memory[key] = answer
    while len(memory) > MAX_REMEMBERED:
        memory.pop(next(iter(memory)))


def rows_for(
    request: dict[str, Any],
    selected: dict[str, Any] | None,
    client: ApiClient | None = None,
    tz_name: str | None = None,
) -> tuple[Any, str]:
    """The grid's ``getRowsResponse`` for one request, and the count line (``client``:
    the signed-in user's, unless given, as bench/dashboard_refresh.py does; ``tz_name``:
    the user's time zone, from the page's ``user-tz`` store)."""
    selected = selected or {}
    sidebar = filters_for(selected.get("view") or "all", selected.get("group"))
    filters = merge_filters(sidebar, column_filters(request.get("filterModel")))
    if filters is not None and selected.get("q"):
        filters["q"] = str(selected["q"])[:128]  # the search box: the API's q
    if filters is None:  # the column filter contradicts the sidebar: nothing matches
        return {"rowData": [], "rowCount": 0}, count_text(0)
    start = int(request.get("startRow") or 0)
    end = int(request.get("endRow") or start + BLOCK_SIZE)
    per_page, pages, skip, count = pages_for(start, end)
    sort = sort_param(request.get("sortModel"))
    client = client or current_client()
    key = json.dumps([filters, sort, start, end], sort_keys=True)
    apps: list[dict[str, Any]] = []
    total = 0
    try:
        for page in pages:
            body = client.apps_page(page, per_page, sort, **filters)
            apps.extend(body["data"])
            total = int(body["meta"]["total"])
        answer = _answer(client, apps[skip : skip + count], total, user_zone(client, tz_name))
        remember(client.last_blocks, key, answer)
        return answer
    except ApiUnavailable:
        # the last good answer to the same request (greyed by the banner), or an empty
        # block: the grid is always answered (an unanswered block would stall the grid's
        # one request slot), and apps_grid.js asks again at once when the API is back
        stale: tuple[Any, str] | None = client.last_blocks.get(key)
        if stale is not None:
            return stale
        return {"rowData": []}, "The API is unreachable: no rows to show yet."
    except ApiError as exc:
        # an empty answer without a row count: the block shows nothing until the next poll
        # asks again (answering nothing would leave the grid waiting for ever)
        return {"rowData": []}, f"Could not load the apps: {exc.message}"


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("apps-grid", "getRowsResponse"),
        Output("apps-count", "children"),
        Input("apps-grid", "getRowsRequest"),
        State("pm-filter", "data"),
        # read, never an input: only the grid's own request may trigger this callback
        State("user-tz", "data"),
        prevent_initial_call=True,
    )
    @needs_session
    def _rows(
        request: dict[str, Any] | None, selected: dict[str, Any] | None, tz: str | None
    ) -> Any:
        if not request:
            raise PreventUpdate
        return rows_for(request, selected, tz_name=tz)

    # The poll: reload the grid's cached blocks in place (scroll position and selection
    # stay); a new sidebar filter on a grid that stays mounted starts over from the top.
    clientside(
        app,
        "refreshApps",
        Output("apps-refreshed", "data"),
        Input("tick", "n_intervals"),
        Input("pm-filter", "data"),
        Input("api-state", "data"),
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
