"""The content area follows the URL (no page reload between pages)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, html

from dashboard import paths
from dashboard.pages import app_detail, data_processor, live_logs, program_manager, statistics
from dashboard.sessions import can_command


def page_for(pathname: str | None) -> Any:
    page, argument = paths.route(pathname)
    if page == "apps":
        return program_manager.layout(argument, None, can_command())
    if page == "group":
        return program_manager.layout("all", argument, can_command())
    if page == "app":
        return app_detail.layout(argument)
    if page == "statistics":
        return statistics.layout()
    if page == "data-processor":
        return data_processor.layout()
    if page == "live-logs":
        return live_logs.layout()
    return html.Div([html.H2("Not found", id="page-title"), html.P(argument)])


def register(app: dash.Dash) -> None:
    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def _route(pathname: str | None) -> Any:
        return page_for(pathname)
