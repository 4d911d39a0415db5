"""The Program Manager's view in the URL, and saved views.

The search box and the grid's sort are written into the address bar
(``/dashboard/apps/running?q=de&sort=-next_run``), so a copied link reproduces what the
operator saw (``callbacks/routing.py`` reads them back). A saved view is that link under a
name, stored in the user's API settings (``PATCH /api/v1/settings {"views": …}``);
choosing one opens it.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard import paths
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import sort_param
from dashboard.sessions import current_client


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("url", "search"),
        Output("pm-filter", "data"),
        Output("apps-sort", "data"),
        Input("apps-search", "value"),
        Input("apps-grid", "getRowsRequest"),
        State("pm-filter", "data"),
        State("apps-sort", "data"),
        prevent_initial_call=True,
    )
    def _state(
        q: str | None, request: dict[str, Any] | None, selected: Any, sort: str | None
    ) -> Any:
        selected = dict(selected or {})
        sort = sort or paths.DEFAULT_SORT
        if ctx.triggered_id == "apps-search":
            q = (q or "").strip()[:128]
            if q == (selected.get("q") or ""):
                raise PreventUpdate
            # a new search starts the grid over (apps_grid.js purges on a new filter)
            return paths.search_for(q, sort), {**selected, "q": q}, no_update
        new_sort = sort_param((request or {}).get("sortModel"))
        if new_sort == sort:
            raise PreventUpdate  # a poll, not a new sort: the URL stays
        return paths.search_for(selected.get("q"), new_sort), no_update, new_sort

    @app.callback(
        Output("saved-views", "options"),
        Input("pm-filter", "data"),
        Input("view-status", "children"),
    )
    @needs_session
    def _views(_: Any, __: Any) -> list[dict[str, str]]:
        try:
            views = current_client().user_settings().get("views") or {}
        except ApiError:
            raise PreventUpdate from None
        return [{"label": name, "value": v["path"]} for name, v in sorted(views.items())]

    @app.callback(
        Output("redirect", "href", allow_duplicate=True),
        Input("saved-views", "value"),
        prevent_initial_call=True,
    )
    def _open(path: str | None) -> str:
        if not path or not path.startswith(paths.PREFIX) or path.startswith("//"):
            raise PreventUpdate
        return path

    @app.callback(
        Output("view-status", "children"),
        Input("save-view", "n_clicks"),
        State("view-name", "value"),
        State("url", "pathname"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    @needs_session
    def _save(
        clicks: int | None, name: str | None, pathname: str | None, search: str | None
    ) -> str:
        name = (name or "").strip()
        if not clicks:
            raise PreventUpdate
        if not name:
            return "Name the view first."
        path = f"{pathname or paths.PREFIX}{search or ''}"
        try:
            current_client().update_user_settings({"views": {name: {"path": path}}})
        except ApiError as exc:
            return f"Could not save the view: {exc.message}"
        return f"Saved view “{name}”."
