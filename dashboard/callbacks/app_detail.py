"""App Detail: the fields (refreshed with the table's tick) and the selected tab's grid
(the Performance tab also charts its functions over time), loaded when the tab opens."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, html

from dashboard import charts
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.pages.app_detail import fields_form, performance_charts, tab_grid
from dashboard.rows import detail_fields, duration_text, short_time
from dashboard.sessions import current_client


def _history_row(runtime: dict[str, Any]) -> dict[str, Any]:
    records = runtime.get("records") or {}
    return {
        "started": short_time(runtime.get("started")),
        "ended": short_time(runtime.get("ended")),
        "duration": duration_text(runtime.get("duration_seconds")),
        "status": runtime.get("status", ""),
        "trigger": runtime.get("trigger", ""),
        "total": records.get("total"),
        "solved": records.get("solved"),
        "failed": records.get("failed"),
        "error": runtime.get("error") or "",
    }


def _log_row(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "timestamp": short_time(entry.get("timestamp"))}


def tab_rows(tab: str, app_id: str) -> list[dict[str, Any]]:
    client = current_client()
    if tab == "history":
        return [_history_row(r) for r in client.runtimes(app_id)]
    return [_log_row(e) for e in client.logs(app_id)]


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("detail-fields", "children"),
        Output("detail-error", "children"),
        Input("detail-app", "data"),
        Input("tick", "n_intervals"),
    )
    @needs_session
    def _fields(app_id: str | None, _: int | None) -> tuple[Any, str]:
        if not app_id:
            return [], ""
        try:
            detail = current_client().app(app_id)
        except ApiError as exc:
            return [], f"Could not load {app_id}: {exc.message}"
        return fields_form(detail_fields(detail)), ""

    @app.callback(
        Output("detail-tab-body", "children"),
        Input("detail-tabs", "value"),
        Input("detail-app", "data"),
    )
    @needs_session
    def _tab(tab: str | None, app_id: str | None) -> Any:
        tab = tab or "logs"
        if tab == "performance":
            return _performance(app_id)
        rows: list[dict[str, Any]] = []
        message = ""
        if app_id:
            try:
                rows = tab_rows(tab, app_id)
            except ApiError as exc:
                message = f"Could not load the {tab}: {exc.message}"
        return [html.Div(message, className="error"), tab_grid(tab, rows)]


def _performance(app_id: str | None) -> list[Any]:
    """Charts of the app's functions over time above their totals, from one request."""
    performance: dict[str, Any] = {}
    message = ""
    if app_id:
        try:
            performance = current_client().app_performance(app_id)
        except ApiError as exc:
            message = f"Could not load the performance: {exc.message}"
    if message:
        runtime = task_size = charts.empty_figure("Could not load the performance")
    else:
        runtime, task_size = charts.app_performance_figures(performance)
    return [
        html.Div(message, className="error"),
        performance_charts(runtime, task_size),
        tab_grid("performance", performance.get("functions") or []),
    ]
