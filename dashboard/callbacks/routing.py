"""The content area follows the URL (no page reload between pages)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, html

from dashboard import paths
from dashboard.pages import (
    agents_queues,
    app_detail,
    data_processor,
    live_logs,
    program_manager,
    statistics,
    user_settings,
)
from dashboard.pages.admin_pages import admin_page
from dashboard.sessions import can_command, is_admin


def page_for(pathname: str | None, search: str | None = None, tz: str | None = None) -> Any:
    page, argument = paths.route(pathname)
    query = paths.query(search)  # the Program Manager's search and sort (a link reproduces)
    if page == "apps":
        return program_manager.layout(argument, None, can_command(), **query)
    if page == "group":
        return program_manager.layout("all", argument, can_command(), **query)
    if page == "app":
        return app_detail.layout(argument, can_command(), is_admin(), paths.run_of(search))
    if page == "statistics":
        return statistics.layout()
    if page == "data-processor":
        return data_processor.layout()
    if page == "agents-queues":
        return agents_queues.layout()
    if page == "live-logs":
        return live_logs.layout()
    if page == "settings":
        return user_settings.layout(tz)
    if (admin := admin_page(page)) is not None:
        return admin
    return html.Div([html.H2("Not found", id="page-title"), html.P(argument)])


def register(app: dash.Dash) -> None:
    # the search part is read, not listened to: the grid writes its search and sort there
    # (callbacks/view_state.py) without rebuilding the page
    @app.callback(
        Output("page", "children"),
        Input("url", "pathname"),
        State("url", "search"),
        State("user-tz", "data"),
    )
    def _route(pathname: str | None, search: str | None, tz: str | None) -> Any:
        return page_for(pathname, search, tz)
